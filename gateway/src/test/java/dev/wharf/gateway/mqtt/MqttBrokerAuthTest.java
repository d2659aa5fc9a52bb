package dev.wharf.gateway.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import dev.wharf.gateway.WharfApp;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP endpoints a broker's auth plugin calls: one device token for both protocols. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MqttBrokerAuthTest {

  static final String SECRET = "broker-plugin-secret-0123";
  static TestStack stack;
  static WharfApp wharf;
  static WebClient http;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    // A broker that is never reachable: the auth endpoints do not depend on the bridge being connected.
    wharf = Brokers.wharf(stack, TestStack.freePort(), "wharf-auth", "wharf",
        Map.of("WHARF_MQTT_AUTH_SECRET", SECRET, "WHARF_MQTT_BROKER_PASSWORD", "wharf-broker-password"));
    http = WebClient.create(stack.vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(URI(wharf.services().config().http().publicUrl()).getPort()));
  }

  static java.net.URI URI(String s) {
    return java.net.URI.create(s);
  }

  @AfterAll
  static void stop() throws Exception {
    await(wharf.stop());
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static boolean allowed(String path, JsonObject body) throws Exception {
    HttpResponse<Buffer> resp = await(http.post(path).bearerTokenAuthentication(SECRET).sendJsonObject(body));
    assertThat(resp.statusCode()).isEqualTo(200);
    JsonObject json = resp.bodyAsJsonObject();
    assertThat(json.getString("result")).isEqualTo(json.getBoolean("ok") ? "allow" : "deny");
    return json.getBoolean("ok");
  }

  @Test
  void aDeviceTokenLogsInToTheBrokerUnderTheDevicesOwnName() throws Exception {
    Brokers.Device d = await(Brokers.uniqueDevice(stack));
    Brokers.Device other = await(Brokers.uniqueDevice(stack));
    assertThat(allowed("/v1/mqtt/auth", new JsonObject().put("username", d.id()).put("password", d.token()))).isTrue();
    assertThat(allowed("/v1/mqtt/auth", new JsonObject().put("username", other.id()).put("password", d.token()))).isFalse();
    assertThat(allowed("/v1/mqtt/auth", new JsonObject().put("username", d.id()).put("password", "wh_d_wrong"))).isFalse();
    assertThat(allowed("/v1/mqtt/auth", new JsonObject().put("username", "wharf").put("password", "wharf-broker-password"))).isTrue();
    assertThat(allowed("/v1/mqtt/superuser", new JsonObject().put("username", "wharf"))).isTrue();
    assertThat(allowed("/v1/mqtt/superuser", new JsonObject().put("username", d.id()))).isFalse();
    // mosquitto-go-auth may send a form, and pass the secret in the query.
    HttpResponse<Buffer> form = await(http.post("/v1/mqtt/auth?secret=" + SECRET)
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("username", d.id()).add("password", d.token()).add("clientid", "c1")));
    assertThat(form.bodyAsJsonObject().getBoolean("ok")).isTrue();
  }

  @Test
  void aDeviceNameThatExistsInTwoTenantsCannotLogInToASharedBroker() throws Exception {
    Tenant one = await(stack.newTenant());
    Tenant two = await(stack.newTenant());
    // newTenant names its devices dev-a and dev-b in every tenant.
    assertThat(one.deviceA()).isEqualTo(two.deviceA());
    assertThat(allowed("/v1/mqtt/auth", new JsonObject().put("username", one.deviceA()).put("password", one.tokenA()))).isFalse();
  }

  @Test
  void aDeviceMayUseOnlyItsOwnTopics() throws Exception {
    assertThat(allowed("/v1/mqtt/acl", new JsonObject().put("username", "robot-7").put("topic", "wharf/d/robot-7/upload/request").put("acc", 2))).isTrue();
    assertThat(allowed("/v1/mqtt/acl", new JsonObject().put("username", "robot-7").put("topic", "wharf/d/robot-7/#").put("acc", 4))).isTrue();
    assertThat(allowed("/v1/mqtt/acl", new JsonObject().put("username", "robot-7").put("topic", "wharf/d/robot-8/upload/grant").put("acc", 1))).isFalse();
    assertThat(allowed("/v1/mqtt/acl", new JsonObject().put("username", "robot-7").put("topic", "wharf/d/+/upload/grant").put("acc", 4))).isFalse();
    assertThat(allowed("/v1/mqtt/acl", new JsonObject().put("username", "wharf").put("topic", "$share/wharf/wharf/d/+/upload/request").put("acc", 4))).isTrue();
  }

  @Test
  void withoutTheSharedSecretTheEndpointsAnswer401() throws Exception {
    HttpResponse<Buffer> resp = await(http.post("/v1/mqtt/auth").sendJsonObject(new JsonObject().put("username", "x").put("password", "y")));
    assertThat(resp.statusCode()).isEqualTo(401);
    HttpResponse<Buffer> wrong = await(http.post("/v1/mqtt/acl").bearerTokenAuthentication("not-the-secret-at-all").sendJsonObject(new JsonObject()));
    assertThat(wrong.statusCode()).isEqualTo(401);
  }
}
