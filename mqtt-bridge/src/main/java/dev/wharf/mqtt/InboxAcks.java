package dev.wharf.mqtt;

import dev.wharf.auth.Principal;
import io.vertx.core.Future;
import java.util.UUID;

/**
 * Acknowledges a delivery on a device's behalf, with the same effect as {@code POST /v1/inbox/{id}/ack}:
 * idempotent; absent, expired or another device's delivery is 404 {@code not_found}.
 */
@FunctionalInterface
public interface InboxAcks {

  Future<Void> ack(Principal device, UUID deliveryId);
}
