package dev.wharf.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** S3 keys are optional: none means the SDK's default chain (instance role, IRSA); half a pair is refused. */
class S3CredentialsConfigTest {

  private static Map<String, String> env(String... pairs) {
    Map<String, String> env = new HashMap<>(Map.of("WHARF_ADMIN_TOKEN", "a-long-enough-admin-token"));
    for (int i = 0; i < pairs.length; i += 2) {
      env.put(pairs[i], pairs[i + 1]);
    }
    return env;
  }

  @Test
  void withoutKeysTheDefaultChainIsUsed() {
    WharfConfig config = WharfConfig.load(null, env());
    assertThat(config.s3().accessKey()).isNull();
    assertThat(config.s3().secretKey()).isNull();
  }

  @Test
  void bothKeysAreKept() {
    WharfConfig config = WharfConfig.load(null, env("WHARF_S3_ACCESS_KEY", "ak", "WHARF_S3_SECRET_KEY", "sk"));
    assertThat(config.s3().accessKey()).isEqualTo("ak");
    assertThat(config.s3().secretKey()).isEqualTo("sk");
  }

  @Test
  void anAccessKeyWithoutSecretStopsTheStartNamingTheKey() {
    assertThatThrownBy(() -> WharfConfig.load(null, env("WHARF_S3_ACCESS_KEY", "ak")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("s3.secret-key");
  }

  @Test
  void theDataConnectionPoolIsSizedByConfigAndANonPositiveSizeStopsTheStart() {
    assertThat(WharfConfig.load(null, env()).s3().maxConnections()).isEqualTo(64);
    assertThat(WharfConfig.load(null, env("WHARF_S3_MAX_CONNECTIONS", "8")).s3().maxConnections()).isEqualTo(8);
    assertThatThrownBy(() -> WharfConfig.load(null, env("WHARF_S3_MAX_CONNECTIONS", "0")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("s3.max-connections");
  }
}
