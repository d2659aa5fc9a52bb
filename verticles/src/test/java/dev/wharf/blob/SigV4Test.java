package dev.wharf.blob;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/** {@link SigV4} against the SDK's {@code AwsV4HttpSigner} with the properties S3Http used to sign with. */
class SigV4Test {

  private static final String REGION = "eu-central-1";
  private static final Instant T1 = Instant.parse("2024-02-29T23:59:58Z");
  private static final Instant T2 = Instant.parse("2024-03-01T00:00:03Z");
  private static final AwsCredentialsIdentity STATIC = AwsCredentialsIdentity.create("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  private static final AwsCredentialsIdentity SESSION = AwsSessionCredentialsIdentity.create("ASIAEXAMPLE",
      "s3cr3t/with+odd=chars", "FwoGZXIvYXdzEJr//////////wEaDO+token/with=padding==");

  /** One request as S3Http builds it: the endpoint, the object key and what goes with it. */
  record Case(String name, String method, boolean ssl, String host, int port, String bucketInPath, String key,
      Map<String, String> query, Map<String, String> headers, AwsCredentialsIdentity creds, Instant at) {
    String path() {
      return (bucketInPath != null ? "/" + bucketInPath + "/" : "/") + SdkHttpUtils.urlEncodeIgnoreSlashes(key);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    Map<String, String> none = Map.of();
    return Stream.of(
        new Case("PUT with content-type, path style, http non-default port", "PUT", false, "localhost", 9000, "wharf",
            "blobs/ab/cdef", none, Map.of("Content-Type", "application/octet-stream"), STATIC, T1),
        new Case("GET with a Range", "GET", false, "localhost", 9000, "wharf", "blobs/ab/cdef", none,
            Map.of("Range", "bytes=0-1023"), STATIC, T1),
        new Case("UploadPart query with ~ + / =", "PUT", true, "wharf.s3.eu-central-1.amazonaws.com", 443, null,
            "multi/part", S3Http.partQuery("2~abc+def/ghi==_-.*x y", 7), none, STATIC, T1),
        new Case("query keys needing encoding, sorted by encoded key", "GET", false, "127.0.0.1", 8080, "b", "k",
            Map.of("z", "1", "a b", "2", "A", "3", "é", "4", "x*", "5", "empty", ""), none, STATIC, T1),
        new Case("key with spaces", "PUT", false, "localhost", 9000, "wharf", "my file  with spaces.txt", none,
            Map.of("Content-Type", "text/plain"), STATIC, T1),
        new Case("unicode key", "GET", false, "localhost", 9000, "wharf", "ünïcødé/日本語/😀.bin", none, none, STATIC, T1),
        new Case("key with + % ~ * and friends", "PUT", false, "localhost", 9000, "wharf",
            "a+b%20c~d*e!f'g(h)i;j:k@l&m=n$o,p?q#r[s]t", none, none, STATIC, T1),
        new Case("default port over http", "GET", false, "minio.internal", 80, "wharf", "k", none, none, STATIC, T1),
        new Case("default port over https", "GET", true, "s3.eu-central-1.amazonaws.com", 443, "wharf", "k", none, none,
            STATIC, T1),
        new Case("port 443 over http", "GET", false, "minio.internal", 443, "wharf", "k", none, none, STATIC, T1),
        new Case("port 80 over https", "GET", true, "minio.internal", 80, "wharf", "k", none, none, STATIC, T1),
        new Case("virtual-hosted host, https", "PUT", true, "wharf.s3.eu-central-1.amazonaws.com", 443, null,
            "blobs/x", none, Map.of("Content-Type", "image/png"), STATIC, T1),
        new Case("virtual-hosted host, non-default port", "GET", true, "wharf.s3.local", 8443, null, "blobs/x", none,
            Map.of("Range", "bytes=5-9"), STATIC, T1),
        new Case("session credentials with a token", "PUT", true, "wharf.s3.eu-central-1.amazonaws.com", 443, null,
            "blobs/y", S3Http.partQuery("id", 1), Map.of("Content-Type", "application/json"), SESSION, T1),
        new Case("header value with runs of whitespace", "PUT", false, "localhost", 9000, "wharf", "k", none,
            Map.of("Content-Type", "  text/plain;   charset=utf-8 \t"), STATIC, T1),
        new Case("the next day", "GET", false, "localhost", 9000, "wharf", "k", none, Map.of("Range", "bytes=0-0"),
            STATIC, T2));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void signsAsTheSdkDoes(Case c) {
    Map<String, String> ours = new SigV4(REGION, Clock.fixed(c.at(), ZoneOffset.UTC))
        .sign(c.creds(), c.method(), SigV4.hostHeader(c.host(), c.port(), c.ssl()), c.path(), c.query(), c.headers());
    assertSameAsSdk(ours, c);
  }

  @Test
  void oneSignerAcrossDatesAndCredentialsRederivesItsKey() {
    MutableClock clock = new MutableClock(T1);
    SigV4 signer = new SigV4(REGION, clock);
    Case base = cases().findFirst().orElseThrow();
    record Step(Instant at, AwsCredentialsIdentity creds) {}
    List<Step> steps = List.of(new Step(T1, STATIC), new Step(T1.plusSeconds(1), STATIC), new Step(T2, STATIC),
        new Step(T1, STATIC), new Step(T1, SESSION), new Step(T1, STATIC), new Step(T2, SESSION),
        new Step(T2, AwsCredentialsIdentity.create("AKIDEXAMPLE", "rotated-secret")), new Step(T2, STATIC));
    for (Step step : steps) {
      clock.now = step.at();
      Case c = new Case(base.name(), base.method(), base.ssl(), base.host(), base.port(), base.bucketInPath(), base.key(),
          base.query(), base.headers(), step.creds(), step.at());
      assertSameAsSdk(signer.sign(c.creds(), c.method(), SigV4.hostHeader(c.host(), c.port(), c.ssl()), c.path(),
          c.query(), c.headers()), c);
    }
  }

  @Test
  void signsTheSameFromSeveralThreadsAtOnce() throws Exception {
    MutableClock clock = new MutableClock(T1);
    SigV4 signer = new SigV4(REGION, clock);
    List<Case> all = cases().filter(c -> c.at().equals(T1)).toList();
    Map<String, String> expected = new LinkedHashMap<>();
    for (Case c : all) {
      expected.put(c.name(), sdkSign(c).firstMatchingHeader("Authorization").orElseThrow());
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        runs.add(pool.submit(() -> {
          for (int i = 0; i < 500; i++) {
            Case c = all.get(i % all.size());
            String signed = signer.sign(c.creds(), c.method(), SigV4.hostHeader(c.host(), c.port(), c.ssl()), c.path(),
                c.query(), c.headers()).get("Authorization");
            assertThat(signed).as(c.name()).isEqualTo(expected.get(c.name()));
          }
        }));
      }
      for (Future<?> run : runs) {
        run.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void encodesAsRfc3986() {
    assertThat(SigV4.encode("AZaz09-_.~")).isEqualTo("AZaz09-_.~");
    assertThat(SigV4.encode("a b+c*d/e=f%g")).isEqualTo("a%20b%2Bc%2Ad%2Fe%3Df%25g");
    assertThat(SigV4.encode("é")).isEqualTo("%C3%A9");
  }

  private static void assertSameAsSdk(Map<String, String> ours, Case c) {
    SdkHttpRequest sdk = sdkSign(c);
    assertThat(ours.get("Authorization")).as(c.name()).isEqualTo(sdk.firstMatchingHeader("Authorization").orElseThrow());
    Map<String, String> sdkHeaders = new TreeMap<>();
    sdk.forEachHeader((name, values) -> sdkHeaders.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
    Map<String, String> ourHeaders = new TreeMap<>();
    ours.forEach((name, value) -> ourHeaders.put(name.toLowerCase(Locale.ROOT), value));
    assertThat(ourHeaders).as(c.name()).isEqualTo(sdkHeaders);
  }

  private static SdkHttpRequest sdkSign(Case c) {
    SdkHttpRequest.Builder unsigned = SdkHttpRequest.builder()
        .method(SdkHttpMethod.fromValue(c.method()))
        .protocol(c.ssl() ? "https" : "http")
        .host(c.host())
        .port(c.port())
        .encodedPath(c.path())
        .putHeader("x-amz-content-sha256", SigV4.UNSIGNED_PAYLOAD);
    c.query().forEach(unsigned::putRawQueryParameter);
    c.headers().forEach(unsigned::putHeader);
    return AwsV4HttpSigner.create().sign(r -> r.identity(c.creds())
        .request(unsigned.build())
        .putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "s3")
        .putProperty(AwsV4HttpSigner.REGION_NAME, REGION)
        .putProperty(AwsV4FamilyHttpSigner.DOUBLE_URL_ENCODE, false)
        .putProperty(AwsV4FamilyHttpSigner.NORMALIZE_PATH, false)
        .putProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, false)
        .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(c.at(), ZoneOffset.UTC))).request();
  }

  private static final class MutableClock extends Clock {
    volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
