package dev.wharf.gateway;

import dev.wharf.auth.TenantStore;
import dev.wharf.auth.TokenStore;
import dev.wharf.blob.S3BlobStore;
import dev.wharf.db.Database;
import dev.wharf.delivery.DeliveryService;
import dev.wharf.delivery.DeliverySweeper;
import dev.wharf.events.NoticeRelay;
import dev.wharf.files.FileService;
import dev.wharf.gateway.config.WharfConfig;
import dev.wharf.gateway.http.ApiVerticle;
import dev.wharf.gateway.http.UploadSlots;
import dev.wharf.gateway.logging.NonBlockingAppender;
import dev.wharf.grants.GrantService;
import dev.wharf.grants.GrantSweeper;
import dev.wharf.idempotency.IdempotencyStore;
import dev.wharf.ingest.IngestWorker;
import dev.wharf.ingest.JobService;
import dev.wharf.ingest.Reconciler;
import dev.wharf.ingest.RedisIngestQueue;
import dev.wharf.ingest.validate.ValidationLimits;
import dev.wharf.ingest.validate.Validators;
import dev.wharf.metrics.WharfMetrics;
import dev.wharf.mqtt.InboxAcks;
import dev.wharf.mqtt.MqttMetrics;
import dev.wharf.uploads.UploadSessions;
import dev.wharf.uploads.UploadSweeper;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Wharf process: migrates, builds the shared clients, deploys the API, the ingest workers, the
 * reconciler, the grant sweeper and the MQTT side, and takes them down again in order (stop accepting, finish or release work, close clients).
 */
public final class WharfApp {

  private static final Logger log = LoggerFactory.getLogger(WharfApp.class);

  private final Vertx vertx;
  private final Services services;
  private final S3BlobStore blobs;
  private final List<String> deployments = new ArrayList<>();
  private static final java.time.Duration GRANT_SWEEP_INTERVAL = java.time.Duration.ofSeconds(30);

  private String apiDeployment;
  private MqttDeployment mqttDeployment;
  private boolean stopped;

  private WharfApp(Vertx vertx, Services services, S3BlobStore blobs) {
    this.vertx = vertx;
    this.services = services;
    this.blobs = blobs;
  }

  /** Starts everything; fails (having closed what it opened) if any part cannot start. */
  public static Future<WharfApp> start(Vertx vertx, WharfConfig config) {
    if (vertx.exceptionHandler() == null) {
      vertx.exceptionHandler(new UnhandledExceptions());
    }
    WharfMetrics metrics = new WharfMetrics();
    return Database.migrate(vertx, config.postgres()).compose(migrated -> {
      Pool pool = Database.pool(vertx, config.postgres());
      Redis redisClient = Redis.createClient(vertx, new RedisOptions()
          .setType(RedisClientType.STANDALONE)
          .setConnectionString(config.redis().uri())
          .setMaxPoolSize(config.redis().poolSize())
          .setMaxPoolWaiting(config.redis().poolSize() * 64));
      RedisAPI redis = RedisAPI.api(redisClient);
      S3BlobStore blobs = S3BlobStore.create(vertx, config.s3());
      return blobs.ensureBucket()
          .compose(v -> RedisIngestQueue.create(vertx, redis, config.redis().namespace()))
          .map(queue -> {
            JobService jobs = new JobService(pool, queue, config.ingest().maxAttempts(), metrics);
            FileService files = new FileService(vertx, pool, blobs, jobs, config.uploads(), config.ingest(), metrics);
            UploadSessions sessions = new UploadSessions(vertx, pool, blobs, files, config.sessions(), config.s3().partSize(),
                config.grants().maxOpenUploads(), metrics);
            DeliveryService deliveries = new DeliveryService(vertx, pool, blobs, config.deliveries(), config.uploads(), metrics);
            InboxAcks inboxAcks = (device, id) -> deliveries.ack(device, id).mapEmpty();
            TokenStore tokens = new TokenStore(vertx, pool, config.auth().cacheTtl(), config.auth().cacheSize());
            io.micrometer.core.instrument.FunctionCounter.builder("wharf_auth_token_lookups_total", tokens, TokenStore::cacheHits)
                .description("Bearer-token authentications, by where the answer came from").tag("source", "cache").register(metrics.registry());
            io.micrometer.core.instrument.FunctionCounter.builder("wharf_auth_token_lookups_total", tokens, TokenStore::reads)
                .description("Bearer-token authentications, by where the answer came from").tag("source", "postgres").register(metrics.registry());
            io.micrometer.core.instrument.FunctionCounter.builder("wharf_log_lines_dropped_total", NonBlockingAppender.class,
                    c -> NonBlockingAppender.droppedLines())
                .description("Log lines dropped because standard output was not read fast enough (the log queue was full)")
                .register(metrics.registry());
            return new Services(config, pool, redisClient, redis, blobs, queue,
                tokens, new TenantStore(pool), files,
                jobs,
                new IdempotencyStore(pool), new GrantService(pool, files, config.grants(), metrics), inboxAcks,
                metrics, new MqttMetrics(metrics), new UploadSlots(config.uploads().maxConcurrentUploads(), metrics.uploadsInFlight(),
                    () -> metrics.upload("overloaded", 0)), deliveries, sessions);
          })
          .compose(services -> new WharfApp(vertx, services, blobs).deploy())
          .recover(err -> {
            blobs.close();
            redisClient.close();
            return pool.close().transform(v -> Future.failedFuture(err));
          });
    });
  }

  private Future<WharfApp> deploy() {
    var cfg = services.config();
    Future<String> workers = cfg.ingest().workers() == 0 ? Future.succeededFuture(null)
        : vertx.deployVerticle(() -> new IngestWorker(services.pool(), services.blobs(), services.queue(), cfg.ingest(),
                Validators.standard(ValidationLimits.defaults()), services.metrics()),
            new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER).setInstances(cfg.ingest().workers()));
    return workers
        .compose(id -> {
          track(id);
          return vertx.deployVerticle(new Reconciler(services.pool(), services.queue(), cfg.ingest(), services.metrics()));
        })
        .compose(id -> {
          track(id);
          return vertx.deployVerticle(new UploadSweeper(services.uploadSessions(), cfg.ingest().staleUploadAfter()));
        })
        .compose(id -> {
          track(id);
          return vertx.deployVerticle(new DeliverySweeper(services.pool(), services.blobs(), cfg.deliveries(), services.metrics()));
        })
        .compose(id -> {
          track(id);
          return Future.all(services.tokens().listen(), services.deliveries().listen())
              .compose(v -> vertx.deployVerticle(new NoticeRelay(cfg.redis(), services.redis(), java.util.Set.of(DeliveryService.NOTICE_ADDRESS, IngestWorker.FILE_STATUS_ADDRESS, TokenStore.REVOKED_ADDRESS,
              RedisIngestQueue.READY_ADDRESS),
              services.metrics())));
        })
        .compose(id -> {
          track(id);
          return vertx.deployVerticle(new GrantSweeper(services.pool(), services.grants(), GRANT_SWEEP_INTERVAL));
        })
        .compose(id -> {
          track(id);
          return vertx.deployVerticle(() -> new ApiVerticle(services), new DeploymentOptions().setInstances(cfg.http().instances()));
        })
        .compose(id -> {
          apiDeployment = id;
          return MqttDeployment.deploy(vertx, services);
        })
        .recover(err -> {
          // Take down what did start, so a failed start leaves no chore running on closed clients.
          List<String> started = new ArrayList<>(deployments);
          if (apiDeployment != null) {
            started.add(apiDeployment);
          }
          return Future.join(started.stream().map(vertx::undeploy).toList()).transform(v -> Future.failedFuture(err));
        })
        .map(mqtt -> {
          mqttDeployment = mqtt;
          log.info("wharf started [http={}:{}, workers={}, api_instances={}, mqtt={}, resumable_sha256={}, transport={}]", cfg.http().host(),
              cfg.http().port(), cfg.ingest().workers(), cfg.http().instances(), mqtt.describe(), dev.wharf.uploads.ResumableSha256.engine(),
              vertx.isNativeTransportEnabled() ? "epoll" : "nio");
          return this;
        });
  }

  private void track(String id) {
    if (id != null) {
      deployments.add(id);
    }
  }

  public Services services() {
    return services;
  }

  /** The MQTT side as deployed (mode, the endpoint's bound port). */
  public MqttDeployment mqtt() {
    return mqttDeployment;
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Graceful stop: the API stops accepting and drains, then workers finish or release their jobs, then
   * the clients close. Calling it twice is harmless.
   */
  public Future<Void> stop() {
    if (stopped) {
      return Future.succeededFuture();
    }
    stopped = true;
    Future<Void> mqtt = mqttDeployment == null ? Future.succeededFuture() : mqttDeployment.undeploy(vertx);
    return mqtt
        .compose(v -> apiDeployment == null ? Future.succeededFuture() : vertx.undeploy(apiDeployment))
        .compose(v -> Future.join(deployments.stream().map(vertx::undeploy).toList()).mapEmpty())
        .transform(ar -> {
          blobs.close();
          services.redisClient().close();
          return services.pool().close();
        })
        .onComplete(ar -> log.info("wharf stopped"));
  }
}
