package dev.wharf.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time of processes, from {@code /proc/PID/stat} (Linux); -1 where /proc has none. */
final class ProcessCpu {

  /** Clock ticks per second of {@code /proc}'s times: 100 on every Linux this runs on. */
  private static final double TICKS = 100.0;

  private ProcessCpu() {
  }

  /** User + system CPU seconds process {@code pid} has used so far. */
  static double of(long pid) {
    long[] times = times(Path.of("/proc", Long.toString(pid), "stat"));
    return times == null ? -1 : (times[0] + times[1]) / TICKS;
  }

  /** The system (kernel) part of {@link #of}: time spent in system calls, sockets and the scheduler. */
  static double systemOf(long pid) {
    long[] times = times(Path.of("/proc", Long.toString(pid), "stat"));
    return times == null ? -1 : times[1] / TICKS;
  }

  /**
   * User + system CPU seconds used so far by every process on the machine whose command name starts with
   * {@code command} ({@code postgres}; {@code redis-server}, which the embedded Redis's binary name extends), with the time of their children that ended and were waited for (a
   * PostgreSQL backend that exits leaves its time in the postmaster's). Between two readings, the difference
   * is what those servers spent meanwhile, whoever asked them.
   */
  static double ofCommand(String command) {
    double ticks = 0;
    boolean any = false;
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
      for (Path proc : procs) {
        String stat;
        try {
          stat = Files.readString(proc.resolve("stat"));
        } catch (IOException | RuntimeException gone) {
          continue;
        }
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        if (open < 0 || close < open || !stat.substring(open + 1, close).startsWith(command)) {
          continue;
        }
        long[] times = parse(stat);
        if (times != null) {
          ticks += times[0] + times[1] + times[2] + times[3];
          any = true;
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return any ? ticks / TICKS : -1;
  }

  private static long[] times(Path stat) {
    try {
      return parse(Files.readString(stat));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** utime, stime, cutime, cstime: fields 14 to 17, counted after the command name (in parentheses, may hold spaces). */
  private static long[] parse(String stat) {
    try {
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new long[] {Long.parseLong(fields[11]), Long.parseLong(fields[12]), Long.parseLong(fields[13]), Long.parseLong(fields[14])};
    } catch (RuntimeException e) {
      return null;
    }
  }
}
