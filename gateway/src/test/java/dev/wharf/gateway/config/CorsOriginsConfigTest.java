package dev.wharf.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code http.cors-origins}: none by default, a YAML list or a comma-separated variable, and nothing that is not an origin. */
class CorsOriginsConfigTest {

  private static final Map<String, String> ADMIN = Map.of("WHARF_ADMIN_TOKEN", "a-long-enough-admin-token");

  private static WharfConfig withEnv(String origins) {
    return WharfConfig.load(null, Map.of("WHARF_ADMIN_TOKEN", "a-long-enough-admin-token", "WHARF_HTTP_CORS_ORIGINS", origins));
  }

  @Test
  void noOriginIsAllowedUnlessConfigured() {
    assertThat(WharfConfig.load(null, ADMIN).http().corsOrigins()).isEmpty();
  }

  @Test
  void aVariableListsOriginsSeparatedByCommas() {
    assertThat(withEnv(" https://console.example.com, http://localhost:3000 ,").http().corsOrigins())
        .containsExactly("https://console.example.com", "http://localhost:3000");
    assertThat(withEnv("*").http().corsOrigins()).containsExactly("*");
  }

  @Test
  void aConfigFileListsThemAsASequence(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wharf.yaml");
    Files.writeString(file, "http:\n  cors-origins:\n    - https://console.example.com\n    - https://[::1]:8443\n");
    assertThat(WharfConfig.load(file, ADMIN).http().corsOrigins()).containsExactly("https://console.example.com", "https://[::1]:8443");
  }

  @Test
  void somethingThatIsNotAnOriginStopsTheStartNamingTheKey() {
    for (String bad : new String[] {"console.example.com", "https://console.example.com/", "https://console.example.com/app",
        "ftp://files.example.com", "*, https://console.example.com"}) {
      assertThatThrownBy(() -> withEnv(bad)).as(bad).isInstanceOf(ConfigException.class).hasMessageContaining("http.cors-origins");
    }
  }
}
