package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.wharf.gateway.DeliveryTesting.Replica;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real browser (headless Chromium) runs the stock tus-js-client in a page of another origin and uploads through
 * the gateway in 64 KiB chunks, then reads a refusal's problem code; the same page from an origin not listed in
 * {@code http.cors-origins} cannot even create the upload. Skips itself without a headless Chromium on the PATH
 * ({@code .ci/run} installs Debian's {@code chromium-headless-shell} when it can) or when tus-js-client cannot be
 * fetched from the npm registry.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class BrowserUploadTest {

  static final String TUS_JS_CLIENT = "tus-js-client@4.3.1";
  /** The page uploads this text 4,000 times (see tus-page.html). */
  static final String LINE = "uploaded by tus-js-client in a browser page\n";

  static TestStack stack;
  static Replica gateway;
  static HttpServer pages;
  static String browser;

  @BeforeAll
  static void start() throws Exception {
    browser = List.of("chromium-headless-shell", "chromium", "google-chrome").stream().filter(BrowserUploadTest::onPath).findFirst()
        .orElse(null);
    assumeTrue(browser != null, "no headless Chromium on the PATH");
    Path tusJs = tusJsClient();
    assumeTrue(tusJs != null, "tus-js-client could not be fetched from npm");
    byte[] script = Files.readAllBytes(tusJs);
    byte[] page;
    try (InputStream in = BrowserUploadTest.class.getResourceAsStream("/browser/tus-page.html")) {
      page = in.readAllBytes();
    }
    stack = TestStack.get();
    int pagePort = TestStack.freePort();
    pages = await(stack.vertx.createHttpServer().requestHandler(req -> {
      boolean js = req.path().equals("/tus.min.js");
      req.response().putHeader("Content-Type", js ? "text/javascript" : "text/html; charset=utf-8")
          .end(Buffer.buffer(js ? script : page));
    }).listen(pagePort, "127.0.0.1"));
    gateway = Replica.start(stack, Map.of("WHARF_HTTP_CORS_ORIGINS", "http://127.0.0.1:" + pagePort))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (pages != null) {
      await(pages.close());
    }
  }

  @Test
  void tusJsClientInAPageOfAnAllowedOriginUploadsAndAnotherOriginCannot() throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    String api = "http://127.0.0.1:" + gateway.port;

    String result = runPage("http://127.0.0.1:" + pages.actualPort() + "/page.html?api=" + api + "&token=" + t.tokenA());
    assertThat(result).as("what the page wrote").startsWith("OK ").endsWith("refusal=401:unauthorized");
    Matcher url = Pattern.compile("/v1/tus/([0-9a-f-]{36})").matcher(result);
    assertThat(url.find()).isTrue();
    JsonObject file = await(stack.client.get("/v1/files/" + url.group(1)).bearerTokenAuthentication(t.tokenA()).send()).bodyAsJsonObject();
    byte[] expected = LINE.repeat(4000).getBytes(StandardCharsets.UTF_8);
    assertThat(file.getLong("size")).isEqualTo(expected.length);
    assertThat(file.getString("filename")).isEqualTo("from-browser.txt");
    assertThat(file.getString("sha256")).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(expected)));

    // The same page served from another origin (localhost is not 127.0.0.1 to a browser).
    String refused = runPage("http://localhost:" + pages.actualPort() + "/page.html?api=" + api + "&token=" + t.tokenA());
    assertThat(refused).startsWith("FAILED").contains("failed to create upload");
  }

  /** Loads the page in the headless browser until it settles and answers what it wrote into its {@code <pre>}. */
  private static String runPage(String url) throws Exception {
    List<String> command = new ArrayList<>(List.of(browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000",
        "--dump-dom", url));
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the browser exits").isTrue();
    Matcher out = Pattern.compile("<pre id=\"out\">([^<]*)</pre>").matcher(dom);
    assertThat(out.find()).as("the page's output in " + dom).isTrue();
    return out.group(1).strip();
  }

  /** tus.min.js of {@value #TUS_JS_CLIENT}, fetched once into target/ with npm; null when that is not possible. */
  private static Path tusJsClient() throws InterruptedException {
    Path dir = Path.of("target", "browser");
    Path script = dir.resolve("package").resolve("dist").resolve("tus.min.js");
    if (Files.exists(script)) {
      return script;
    }
    try {
      Files.createDirectories(dir);
      Process pack = new ProcessBuilder("npm", "pack", TUS_JS_CLIENT, "--silent").directory(dir.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String tarball = new String(pack.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!pack.waitFor(120, TimeUnit.SECONDS) || pack.exitValue() != 0 || tarball.isEmpty()) {
        return null;
      }
      Process untar = new ProcessBuilder("tar", "xzf", tarball).directory(dir.toFile()).redirectErrorStream(true).start();
      untar.getInputStream().readAllBytes();
      return untar.waitFor(60, TimeUnit.SECONDS) && untar.exitValue() == 0 && Files.exists(script) ? script : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }
}
