package dev.wharf.agent;

/** A failure that ends a command: one line for stderr and the exit code that names its kind. */
public class AgentException extends RuntimeException {

  private final Exit exit;

  public AgentException(Exit exit, String message) {
    super(message);
    this.exit = exit;
  }

  public AgentException(Exit exit, String message, Throwable cause) {
    super(message, cause);
    this.exit = exit;
  }

  public Exit exit() {
    return exit;
  }
}
