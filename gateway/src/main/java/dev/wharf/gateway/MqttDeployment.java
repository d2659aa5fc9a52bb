package dev.wharf.gateway;

import dev.wharf.mqtt.DeviceMessages;
import dev.wharf.mqtt.MqttConfig;
import dev.wharf.mqtt.endpoint.MqttEndpointVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Deploys the MQTT side for the configured mode: the endpoint, the broker bridge, or nothing. */
public final class MqttDeployment {

  private final MqttConfig.Mode mode;
  private final String deploymentId;
  private final List<MqttEndpointVerticle> endpoints;

  private MqttDeployment(MqttConfig.Mode mode, String deploymentId, List<MqttEndpointVerticle> endpoints) {
    this.mode = mode;
    this.deploymentId = deploymentId;
    this.endpoints = endpoints;
  }

  static Future<MqttDeployment> deploy(Vertx vertx, Services services) {
    MqttConfig config = services.config().mqtt();
    DeviceMessages messages = new DeviceMessages(services.grants(), services.uploadSessions(), services.inboxAcks(), services.config().http().publicUrl(),
        config.maxPayloadBytes(), services.mqttMetrics());
    switch (config.mode()) {
      case ENDPOINT -> {
        List<MqttEndpointVerticle> endpoints = new CopyOnWriteArrayList<>();
        return vertx.deployVerticle(() -> {
              MqttEndpointVerticle endpoint = new MqttEndpointVerticle(config, services.tokens(), messages, services.mqttMetrics());
              endpoints.add(endpoint);
              return endpoint;
            }, new DeploymentOptions().setInstances(config.instances()))
            .map(id -> new MqttDeployment(config.mode(), id, endpoints));
      }
      case BROKER -> {
        return BrokerWiring.deploy(vertx, services, messages).map(id -> new MqttDeployment(config.mode(), id, List.of()));
      }
      default -> {
        return Future.succeededFuture(new MqttDeployment(config.mode(), null, List.of()));
      }
    }
  }

  public MqttConfig.Mode mode() {
    return mode;
  }

  /** The port the endpoint listens on; -1 when not in endpoint mode. */
  public int endpointPort() {
    return endpoints.isEmpty() ? -1 : endpoints.get(0).actualPort();
  }

  String describe() {
    return switch (mode) {
      case ENDPOINT -> "endpoint:" + endpointPort();
      case BROKER -> "broker";
      case OFF -> "off";
    };
  }

  Future<Void> undeploy(Vertx vertx) {
    return deploymentId == null ? Future.succeededFuture() : vertx.undeploy(deploymentId);
  }
}
