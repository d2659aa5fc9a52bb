package dev.wharf.gateway;

import dev.wharf.auth.TenantStore;
import dev.wharf.auth.TokenStore;
import dev.wharf.blob.BlobStore;
import dev.wharf.delivery.DeliveryService;
import dev.wharf.files.FileService;
import dev.wharf.gateway.config.WharfConfig;
import dev.wharf.grants.GrantService;
import dev.wharf.idempotency.IdempotencyStore;
import dev.wharf.ingest.IngestQueue;
import dev.wharf.ingest.JobService;
import dev.wharf.metrics.WharfMetrics;
import dev.wharf.uploads.UploadSessions;
import dev.wharf.mqtt.InboxAcks;
import dev.wharf.mqtt.MqttMetrics;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Pool;

/** The process-wide clients and services every verticle of the gateway is built from. */
public record Services(
    WharfConfig config,
    Pool pool,
    Redis redisClient,
    RedisAPI redis,
    BlobStore blobs,
    IngestQueue queue,
    TokenStore tokens,
    TenantStore tenants,
    FileService files,
    JobService jobs,
    IdempotencyStore idempotency,
    GrantService grants,
    InboxAcks inboxAcks,
    WharfMetrics metrics,
    MqttMetrics mqttMetrics,
    dev.wharf.gateway.http.UploadSlots uploadSlots,
    DeliveryService deliveries,
    UploadSessions uploadSessions) {}
