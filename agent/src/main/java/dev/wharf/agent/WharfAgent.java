package dev.wharf.agent;

import dev.wharf.agent.inbox.InboxCommand;
import dev.wharf.agent.upload.UploadCommand;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code wharf-agent}: the device side of Wharf in one small jar. Commands: {@code upload} (resumable, over
 * tus), {@code inbox} (the long-poll loop), {@code mqtt} (the same loop woken by MQTT notices), {@code status} and
 * {@code files}. Configured by
 * {@code WHARF_URL} and {@code WHARF_DEVICE_TOKEN} or flags; every failure is one line on stderr and an
 * {@link Exit} code.
 */
@Command(name = "wharf-agent", mixinStandardHelpOptions = true, version = "wharf-agent 0.1.0",
    description = "The device side of Wharf: resumable uploads, the inbox loop (long-poll or MQTT), file status.%n"
        + "Configuration: WHARF_URL and WHARF_DEVICE_TOKEN (as written to .wharf-dev/dev.env by `wharf dev`), or --url and --token.",
    subcommands = {UploadCommand.class, InboxCommand.class, dev.wharf.agent.inbox.MqttCommand.class, StatusCommand.class, FilesCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"%nExit codes:", "  0  done", "  1  unexpected error", "  2  bad command line",
        "  3  token missing, unknown or revoked (401/403)", "  4  WHARF_URL missing, malformed or not a Wharf gateway",
        "  5  gateway unreachable within --retry-for", "  6  inbox folder cannot take the file (disk full, not writable)",
        "  7  --exec command not found or not executable", "  8  a file changed while being uploaded",
        "  9  file too large for the gateway (413)", " 10  the upload was verified and failed (--wait)",
        " 11  the gateway refused the request (not found, bad input, checksum)", " 12  a file to upload is missing or unreadable"})
public final class WharfAgent implements Runnable {

  private final Map<String, String> env;
  private final PrintStream out;
  private final PrintStream err;

  public WharfAgent(Map<String, String> env, PrintStream out, PrintStream err) {
    this.env = env;
    this.out = out;
    this.err = err;
  }

  public Map<String, String> env() {
    return env;
  }

  public PrintStream out() {
    return out;
  }

  public PrintStream err() {
    return err;
  }

  @Override
  public void run() {
    new CommandLine(this).usage(out);
  }

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.out, System.err));
  }

  /** Runs one command line and answers its exit code (what tests call in-process). */
  public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    CommandLine cli = new CommandLine(new WharfAgent(env, out, err));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof AgentException agent) {
        err.println("wharf-agent: " + agent.getMessage());
        return agent.exit().code;
      }
      if (e instanceof java.util.concurrent.CancellationException) {
        err.println("wharf-agent: interrupted");
        return 130;
      }
      err.println("wharf-agent: unexpected error: " + e);
      e.printStackTrace(err);
      return Exit.FAILED.code;
    });
    return cli.execute(args);
  }
}
