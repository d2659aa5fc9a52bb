package dev.wharf.mqtt.endpoint;

import dev.wharf.auth.Principal;
import dev.wharf.auth.TokenStore;
import dev.wharf.error.ClientException;
import dev.wharf.mqtt.DeviceMessages;
import dev.wharf.mqtt.MqttConfig;
import dev.wharf.mqtt.MqttMetrics;
import dev.wharf.mqtt.Notices;
import dev.wharf.mqtt.Notices.Notice;
import dev.wharf.mqtt.Topics;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.mqtt.MqttAuth;
import io.vertx.mqtt.MqttEndpoint;
import io.vertx.mqtt.MqttServer;
import io.vertx.mqtt.MqttServerOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Endpoint mode: Wharf is the MQTT server. A device connects with its id as user name and its device
 * token as password; anything else is refused with the not-authorized return code. Deploy one instance
 * per event loop: instances share the port, and each forwards status and inbox notices to the devices
 * connected to it.
 *
 * <p>Sessions: every CONNACK says no session is present, so a device with a persistent session
 * subscribes again; nothing is queued for a device while it is away (it can read status over HTTP). A new
 * connection with the client id of one still open on this instance takes its place.
 */
public final class MqttEndpointVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(MqttEndpointVerticle.class);

  private final MqttConfig config;
  private final TokenStore tokens;
  private final DeviceMessages messages;
  private final MqttMetrics metrics;
  private final Topics topics;
  private final Map<String, Set<DeviceSession>> byDevice = new HashMap<>();
  private final Map<String, DeviceSession> byClientId = new HashMap<>();
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();
  private MqttServer server;

  public MqttEndpointVerticle(MqttConfig config, TokenStore tokens, DeviceMessages messages, MqttMetrics metrics) {
    this.config = config;
    this.tokens = tokens;
    this.messages = messages;
    this.metrics = metrics;
    this.topics = new Topics(config.topicRoot());
  }

  @Override
  public Future<?> start() {
    consumers.add(forward(Notices.FILE_STATUS_ADDRESS, Notices::fileStatus));
    consumers.add(forward(Notices.INBOX_NOTICE_ADDRESS, Notices::inbox));
    consumers.add(forward(Notices.REPLY_ADDRESS, Notices::reply));
    MqttServerOptions options = new MqttServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setMaxMessageSize(config.decoderLimit())
        // Netty's decoder leaves a connection whose client id is over its limit open without a CONNACK (Vert.x only
        // logs the decoder failure) until the connect timeout; let any id through and refuse the long ones in connect().
        .setMaxClientIdLength(65_535)
        .setTimeoutOnConnect(10);
    if (config.tls().enabled()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(config.tls().certPath()).setKeyPath(config.tls().keyPath()));
    }
    server = MqttServer.create(vertx, options)
        .endpointHandler(this::connect)
        .exceptionHandler(err -> log.debug("mqtt server error [cause={}]", err.toString()));
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> server.listen())
        .onSuccess(s -> log.info("mqtt endpoint listening [host={}, port={}, tls={}]", config.host(), s.actualPort(), config.tls().enabled()));
  }

  @Override
  public Future<?> stop() {
    new ArrayList<>(byClientId.values()).forEach(DeviceSession::close);
    List<Future<Void>> closing = new ArrayList<>();
    consumers.forEach(c -> closing.add(c.unregister()));
    if (server != null) {
      closing.add(server.close());
    }
    return Future.join(closing);
  }

  /** The port bound (for port 0). */
  public int actualPort() {
    return server.actualPort();
  }

  private MessageConsumer<JsonObject> forward(String address, Function<JsonObject, Optional<Notice>> parse) {
    return vertx.eventBus().<JsonObject>localConsumer(address, message -> parse.apply(message.body()).ifPresentOrElse(notice -> {
      Set<DeviceSession> sessions = byDevice.get(key(notice.tenant(), notice.device()));
      if (sessions != null) {
        sessions.forEach(session -> session.send(notice.kind(), notice.payload()));
      }
    }, () -> log.warn("malformed event ignored [address={}]", address)));
  }

  private void connect(MqttEndpoint endpoint) {
    if (endpoint.clientIdentifier() != null && endpoint.clientIdentifier().length() > MAX_CLIENT_ID_LENGTH) {
      metrics.error("identifier_rejected");
      log.info("mqtt connection refused [client={}…, remote={}, reason=client id longer than {}]",
          endpoint.clientIdentifier().substring(0, 32), endpoint.remoteAddress(), MAX_CLIENT_ID_LENGTH);
      endpoint.reject(endpoint.protocolVersion() >= 5 ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
          : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
      return;
    }
    MqttAuth auth = endpoint.auth();
    String username = auth == null ? null : auth.getUsername();
    String password = auth == null ? null : auth.getPassword();
    if (username == null || password == null) {
      refuse(endpoint, "no credentials", false);
      return;
    }
    tokens.authenticate(password).onComplete(ar -> {
      if (ar.failed()) {
        refuse(endpoint, ar.cause().getMessage(), !(ar.cause() instanceof ClientException));
        return;
      }
      Principal device = ar.result();
      if (!device.isDevice() || !username.equals(device.deviceId())) {
        refuse(endpoint, "the user name is not the token's device", false);
        return;
      }
      accept(endpoint, device);
    });
  }

  private void accept(MqttEndpoint endpoint, Principal device) {
    DeviceSession session = new DeviceSession(vertx, endpoint, device, topics, messages, config, metrics,
        reply -> vertx.eventBus().publish(Notices.REPLY_ADDRESS, Notices.replyEvent(reply)));
    String clientKey = key(device.tenantId(), endpoint.clientIdentifier());
    String deviceKey = key(device.tenantId(), device.deviceId());
    try {
      session.open(() -> {
        metrics.connected().decrementAndGet();
        byClientId.remove(clientKey, session);
        Set<DeviceSession> sessions = byDevice.get(deviceKey);
        if (sessions != null && sessions.remove(session) && sessions.isEmpty()) {
          byDevice.remove(deviceKey);
        }
        log.info("device connection closed [tenant={}, device={}, client={}]", device.tenantId(), device.deviceId(), endpoint.clientIdentifier());
      });
      endpoint.accept(false);
    } catch (IllegalArgumentException | IllegalStateException e) {
      // The connection went away while the token was checked: Vert.x MQTT refuses handlers and the CONNACK on a
      // closed endpoint by throwing. Nothing was registered yet, so there is nothing to undo.
      log.info("mqtt connection gone before it was accepted [tenant={}, device={}, client={}]", device.tenantId(), device.deviceId(),
          endpoint.clientIdentifier());
      return;
    }
    metrics.connected().incrementAndGet();
    DeviceSession previous = byClientId.put(clientKey, session);
    if (previous != null) {
      log.info("client id taken over, closing the older connection [tenant={}, device={}, client={}]",
          device.tenantId(), device.deviceId(), endpoint.clientIdentifier());
      previous.close();
    }
    byDevice.computeIfAbsent(deviceKey, k -> new LinkedHashSet<>()).add(session);
    log.info("device connected [tenant={}, device={}, client={}, protocol={}, keep_alive={}, clean_session={}]", device.tenantId(),
        device.deviceId(), endpoint.clientIdentifier(), endpoint.protocolVersion(), endpoint.keepAliveTimeSeconds(), endpoint.isCleanSession());
  }

  /** Longest client id accepted; a longer one is refused with CONNACK "identifier rejected" (MQTT 3.1.1 §3.1.3). */
  static final int MAX_CLIENT_ID_LENGTH = 128;

  private void refuse(MqttEndpoint endpoint, String why, boolean serverFault) {
    metrics.error(serverFault ? "server_unavailable" : "not_authorized");
    log.info("mqtt connection refused [client={}, remote={}, reason={}]", endpoint.clientIdentifier(), endpoint.remoteAddress(), why);
    boolean v5 = endpoint.protocolVersion() >= 5;
    MqttConnectReturnCode code = serverFault
        ? (v5 ? MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE_5 : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE)
        : (v5 ? MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED_5 : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED);
    try {
      endpoint.reject(code);
    } catch (IllegalArgumentException | IllegalStateException e) {
      log.debug("connection gone before it could be refused [client={}]", endpoint.clientIdentifier());
    }
  }

  private static String key(String tenant, String name) {
    return tenant + '\u0000' + name;
  }
}
