package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.wharf.gateway.uploads.ChildGateway;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code wharf serve} runs on Netty's epoll transport where Wharf packages it (Linux x86-64), and on the JDK's
 * selector when {@code WHARF_NATIVE_TRANSPORT=false}; it says which in its start line.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NativeTransportTest {

  @Test
  void serveUsesEpollOnLinuxX8664() throws Exception {
    assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
        && System.getProperty("os.arch").equals("amd64"), "epoll is packaged for Linux x86-64 only");
    try (ChildGateway child = ChildGateway.start(TestStack.get(), Map.of())) {
      assertThat(child.awaitLog("wharf started", Duration.ofSeconds(30))).contains("transport=epoll");
    }
  }

  @Test
  void serveUsesTheJdkSelectorWhenTold() throws Exception {
    try (ChildGateway child = ChildGateway.start(TestStack.get(), Map.of("WHARF_NATIVE_TRANSPORT", "false"))) {
      assertThat(child.awaitLog("wharf started", Duration.ofSeconds(30))).contains("transport=nio");
    }
  }
}
