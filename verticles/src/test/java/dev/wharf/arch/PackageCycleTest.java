package dev.wharf.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The core's packages depend on each other in one direction only: a package that uses another must not be used
 * by it, directly or through others. Read from the compiled classes by the JDK's {@code jdeps}, so imports,
 * fully qualified names and signatures all count.
 */
class PackageCycleTest {

  private static final Pattern EDGE = Pattern.compile("^\\s*(dev\\.wharf[\\w.]*)\\s+->\\s+(dev\\.wharf[\\w.]*)\\s", Pattern.MULTILINE);

  @Test
  void theCorePackagesFormNoCycle() {
    Map<String, Set<String>> uses = packageGraph(Path.of("target", "classes"));
    assertThat(uses).as("jdeps found the core's packages").containsKeys("dev.wharf.files", "dev.wharf.ingest");
    assertThat(cycles(uses)).as("package cycles").isEmpty();
  }

  /** The graph the check reads must show a cycle where there is one, or the check above proves nothing. */
  @Test
  void aCycleIsFound() {
    Map<String, Set<String>> uses = new TreeMap<>();
    uses.put("a", Set.of("b"));
    uses.put("b", Set.of("c"));
    uses.put("c", Set.of("a"));
    uses.put("d", Set.of("a"));
    assertThat(cycles(uses)).containsExactly(List.of("a", "b", "c"));
  }

  static Map<String, Set<String>> packageGraph(Path classes) {
    assertThat(Files.isDirectory(classes)).as("compiled classes at " + classes.toAbsolutePath()).isTrue();
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("this JDK has no jdeps"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", "-e", "dev\\.wharf\\..*", classes.toString());
    assertThat(rc).as("jdeps: " + err).isZero();
    Map<String, Set<String>> uses = new TreeMap<>();
    Matcher m = EDGE.matcher(out.toString());
    while (m.find()) {
      if (!m.group(1).equals(m.group(2))) {
        uses.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
      }
    }
    return uses;
  }

  /** The strongly connected components with more than one package (Tarjan), each sorted. */
  static List<List<String>> cycles(Map<String, Set<String>> uses) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    List<List<String>> found = new ArrayList<>();
    for (String p : uses.keySet()) {
      if (!index.containsKey(p)) {
        connect(p, uses, index, low, stack, found);
      }
    }
    return found;
  }

  private static void connect(String p, Map<String, Set<String>> uses, Map<String, Integer> index, Map<String, Integer> low,
      Deque<String> stack, List<List<String>> found) {
    index.put(p, index.size());
    low.put(p, index.get(p));
    stack.push(p);
    for (String q : uses.getOrDefault(p, Set.of())) {
      if (!index.containsKey(q)) {
        connect(q, uses, index, low, stack, found);
        low.put(p, Math.min(low.get(p), low.get(q)));
      } else if (stack.contains(q)) {
        low.put(p, Math.min(low.get(p), index.get(q)));
      }
    }
    if (low.get(p).equals(index.get(p))) {
      List<String> component = new ArrayList<>();
      String q;
      do {
        q = stack.pop();
        component.add(q);
      } while (!q.equals(p));
      if (component.size() > 1) {
        component.sort(null);
        found.add(component);
      }
    }
  }
}
