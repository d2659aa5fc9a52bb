package dev.wharf.bench;

import java.util.ArrayList;
import java.util.List;

/** The benchmark's final table: metric, value, goal; rendered as fixed-width text. */
final class ResultTable {

  private record Row(String metric, String value, String goal) {}

  private final List<Row> rows = new ArrayList<>();

  void add(String metric, String value, String goal) {
    rows.add(new Row(metric, value, goal == null ? "" : goal));
  }

  void add(String metric, String value) {
    add(metric, value, "");
  }

  String render() {
    int metricWidth = "metric".length();
    int valueWidth = "value".length();
    for (Row row : rows) {
      metricWidth = Math.max(metricWidth, row.metric().length());
      valueWidth = Math.max(valueWidth, row.value().length());
    }
    String format = "%-" + metricWidth + "s  %-" + valueWidth + "s  %s%n";
    StringBuilder out = new StringBuilder(String.format(format, "metric", "value", "goal"));
    for (Row row : rows) {
      out.append(String.format(format, row.metric(), row.value(), row.goal()));
    }
    return out.toString().replaceAll(" +\n", "\n");
  }
}
