package dev.wharf.db;

import java.util.List;

/** One page of a keyset-paginated listing and the cursor of the next, null at the end. */
public record Page<T>(List<T> items, String nextCursor) {}
