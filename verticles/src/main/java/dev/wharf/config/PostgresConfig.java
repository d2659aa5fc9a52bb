package dev.wharf.config;

/** PostgreSQL connection settings. */
public record PostgresConfig(String host, int port, String database, String user, String password, int poolSize) {

  public PostgresConfig {
    if (poolSize < 1) {
      throw new IllegalArgumentException("postgres.pool-size must be at least 1");
    }
  }

  /** The JDBC URL, used only by Flyway at start. */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/" + database;
  }
}
