package dev.wharf.devstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EmbeddedServersSmokeTest {

  @Test
  void allThreeServersAcceptConnections() throws Exception {
    Path dir = Files.createTempDirectory("wharf-devstack");
    try (EmbeddedServers servers = EmbeddedServers.start(dir)) {
      for (int port : new int[] {servers.postgresPort(), servers.redisPort(), servers.s3Port()}) {
        try (Socket s = new Socket("127.0.0.1", port)) {
          assertThat(s.isConnected()).isTrue();
        }
      }
    }
  }
}
