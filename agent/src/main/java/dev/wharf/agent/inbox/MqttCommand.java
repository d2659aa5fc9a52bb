package dev.wharf.agent.inbox;

import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.Units;
import dev.wharf.agent.http.Backoff;
import dev.wharf.agent.http.Gateway;
import java.net.URI;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code wharf-agent mqtt}: the inbox loop woken by the gateway's MQTT notices ({@code wharf/d/{device}/inbox})
 * instead of long-polling. Fetch, hook, ack and reject are the inbox command's, over HTTP. Notices are a
 * wake-up only: the inbox is drained at start, after every (re)connection (notices sent meanwhile are lost:
 * the endpoint keeps no session), on every notice, and every {@code --poll-every} as a safety net.
 */
@Command(name = "mqtt", mixinStandardHelpOptions = true,
    description = {"Like `inbox`, but woken by the gateway's MQTT inbox notices instead of long-polling. Connects to the MQTT "
        + "endpoint as the device (username: device id, password: the device token), subscribes to "
        + "<topic-root>/d/<device>/inbox, and drains the inbox over HTTP at start, after each reconnection, on each notice, "
        + "and every --poll-every."})
public final class MqttCommand extends InboxCommand {

  @Option(names = "--mqtt-url", paramLabel = "URL",
      description = "MQTT endpoint, e.g. tcp://wharf.example.com:1883 or ssl://…:8883 (default: $WHARF_MQTT_URL, else tcp://<WHARF_URL host>:$WHARF_MQTT_PORT or 1883).")
  String mqttUrl;

  @Option(names = "--device", paramLabel = "ID", description = "This device's id (default: $WHARF_DEVICE_ID).")
  String device;

  @Option(names = "--topic-root", paramLabel = "ROOT", defaultValue = "wharf", description = "First topic level (default: ${DEFAULT-VALUE}).")
  String topicRoot;

  @Option(names = "--poll-every", paramLabel = "DURATION", defaultValue = "5m",
      description = "Drain the inbox this often even without a notice (default: ${DEFAULT-VALUE}).")
  String pollEvery;

  @Override
  void serve(InboxLoop loop, Gateway gateway) {
    String deviceId = device != null ? device : root.env().get("WHARF_DEVICE_ID");
    if (deviceId == null || deviceId.isBlank()) {
      throw new AgentException(Exit.USAGE, "no device id: set WHARF_DEVICE_ID or pass --device");
    }
    Duration safetyPoll;
    try {
      safetyPoll = Units.duration(pollEvery);
    } catch (IllegalArgumentException e) {
      throw new AgentException(Exit.USAGE, e.getMessage());
    }
    String broker = broker(gateway);
    String topic = topicRoot + "/d/" + deviceId + "/inbox";
    Semaphore wake = new Semaphore(0);
    AtomicBoolean subscribe = new AtomicBoolean(true);
    MqttClient client;
    try {
      client = new MqttClient(broker, "wharf-agent-" + deviceId + "-" + UUID.randomUUID().toString().substring(0, 8), new MemoryPersistence());
    } catch (MqttException | IllegalArgumentException e) {
      throw new AgentException(Exit.BAD_URL, "not an MQTT URL: " + broker);
    }
    client.setCallback(new MqttCallbackExtended() {
      @Override
      public void connectComplete(boolean reconnect, String serverUri) {
        // Subscribing is done by the loop's thread: the synchronous client must not wait inside its own callback.
        subscribe.set(true);
        wake.release();
      }

      @Override
      public void connectionLost(Throwable cause) {
        root.err().println("wharf-agent: MQTT connection lost (" + cause + "); reconnecting");
      }

      @Override
      public void messageArrived(String t, MqttMessage message) {
        wake.release();
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {}
    });
    MqttConnectOptions options = new MqttConnectOptions();
    options.setUserName(deviceId);
    options.setPassword(gateway.token().toCharArray());
    options.setCleanSession(true);
    options.setAutomaticReconnect(true);
    options.setKeepAliveInterval(30);
    options.setConnectionTimeout(10);
    options.setMaxReconnectDelay((int) Math.max(1000, gateway.maxBackoff().toMillis()));
    connect(client, options, gateway, broker);
    try {
      while (true) {
        if (client.isConnected() && subscribe.getAndSet(false)) {
          try {
            client.subscribe(topic, 1);
            root.out().println("listening on " + topic + " at " + broker);
          } catch (MqttException e) {
            subscribe.set(true);
            root.err().println("wharf-agent: MQTT subscribe to " + topic + " failed (" + e.getMessage() + "); trying again");
          }
        }
        wake.drainPermits();
        loop.drain();
        boolean woken = wake.tryAcquire(safetyPoll == null ? Long.MAX_VALUE : safetyPoll.toMillis(), TimeUnit.MILLISECONDS);
        if (!woken && subscribe.get()) {
          root.err().println("wharf-agent: still not subscribed to " + topic + "; polled instead");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.util.concurrent.CancellationException("interrupted");
    } finally {
      try {
        client.disconnectForcibly(1000, 1000);
        client.close(true);
      } catch (MqttException e) {
        // closing anyway
      }
    }
  }

  private void connect(MqttClient client, MqttConnectOptions options, Gateway gateway, String broker) {
    Backoff backoff = gateway.newBackoff();
    while (true) {
      try {
        client.connect(options);
        return;
      } catch (MqttException e) {
        int reason = e.getReasonCode();
        if (reason == MqttException.REASON_CODE_FAILED_AUTHENTICATION || reason == MqttException.REASON_CODE_NOT_AUTHORIZED) {
          throw new AgentException(Exit.UNAUTHORIZED, "the MQTT endpoint " + broker + " refused the device (" + e.getMessage() + ")");
        }
        Duration wait = backoff.next(-1);
        root.err().println("wharf-agent: MQTT connect to " + broker + ": " + e.getMessage() + "; retrying in " + Units.durationText(wait));
        Backoff.pause(wait);
      }
    }
  }

  private String broker(Gateway gateway) {
    if (mqttUrl != null) {
      return mqttUrl;
    }
    String fromEnv = root.env().get("WHARF_MQTT_URL");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    String port = root.env().getOrDefault("WHARF_MQTT_PORT", "1883");
    return "tcp://" + URI.create(gateway.baseUrl()).getHost() + ":" + port;
  }
}
