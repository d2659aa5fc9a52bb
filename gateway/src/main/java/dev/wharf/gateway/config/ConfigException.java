package dev.wharf.gateway.config;

/** A configuration value is missing or wrong; the message names the key. */
public final class ConfigException extends RuntimeException {

  public ConfigException(String key, String problem) {
    super("config " + key + " " + problem);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
