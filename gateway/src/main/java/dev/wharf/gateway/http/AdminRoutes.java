package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.auth.Principal;
import dev.wharf.auth.TenantStore;
import dev.wharf.auth.TokenStore;
import dev.wharf.auth.TokenStore.IssuedToken;
import dev.wharf.error.ClientException;
import dev.wharf.ingest.JobRecord;
import dev.wharf.ingest.JobService;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.HashSet;
import java.util.Set;

/** {@code /v1/admin}: tenants, devices, tokens, queue stats, dead-job retry. Admin token only. */
final class AdminRoutes {

  private final TenantStore tenants;
  private final TokenStore tokens;
  private final JobService jobs;

  AdminRoutes(TenantStore tenants, TokenStore tokens, JobService jobs) {
    this.tenants = tenants;
    this.tokens = tokens;
    this.jobs = jobs;
  }

  void mount(Router router) {
    router.route().handler(ctx -> {
      Authn.requireAdmin(ctx);
      ctx.next();
    });
    router.post("/tenants").handler(ctx -> Replies.json(ctx, 201, () -> {
      JsonObject body = Replies.body(ctx);
      return tenants.createTenant(body.getString("id"), body.getString("name"))
          .map(t -> new JsonObject().put("id", t.id()).put("name", t.name()));
    }));
    router.post("/tenants/:tenant/devices").handler(ctx -> Replies.json(ctx, 201, () -> {
      JsonObject body = Replies.body(ctx);
      String tenant = ctx.pathParam("tenant");
      return tenants.createDevice(tenant, body.getString("id"), body.getString("name"))
          .compose(d -> Boolean.FALSE.equals(body.getBoolean("issue_token", true))
              ? Future.succeededFuture(new JsonObject().put("tenant", d.tenantId()).put("id", d.id()).put("name", d.name()))
              : tokens.issueDeviceToken(tenant, d.id(), "issued with the device")
                  .map(t -> new JsonObject().put("tenant", d.tenantId()).put("id", d.id()).put("name", d.name()).put("token", tokenJson(t))));
    }));
    router.post("/tenants/:tenant/tokens").handler(ctx -> Replies.json(ctx, 201, () -> issue(ctx)));
    router.delete("/tenants/:tenant/tokens/:id").handler(ctx -> Replies.json(ctx, 204,
        () -> tokens.revoke(ctx.pathParam("tenant"), Ids.uuid("token", ctx.pathParam("id"))).map(v -> null)));
    router.get("/queues").handler(ctx -> Replies.json(ctx, 200, jobs::stats));
    router.post("/jobs/:id/retry").handler(ctx -> Replies.json(ctx, 200,
        () -> jobs.retryDead(Ids.uuid("job", ctx.pathParam("id"))).map(JobRecord::toJson)));
  }

  private Future<JsonObject> issue(RoutingContext ctx) {
    JsonObject body = Replies.body(ctx);
    String tenant = ctx.pathParam("tenant");
    String device = body.getString("device");
    String label = body.getString("label");
    if (device != null) {
      return tokens.issueDeviceToken(tenant, device, label).map(AdminRoutes::tokenJson);
    }
    Object rawScopes = body.getValue("scopes");
    if (!(rawScopes instanceof JsonArray array)) {
      throw ClientException.badRequest("invalid_token_request", "give either \"device\" or a \"scopes\" array");
    }
    Set<String> scopes = new HashSet<>();
    for (Object scope : array) {
      scopes.add(String.valueOf(scope));
    }
    return tokens.issueSenderToken(tenant, scopes, label).map(AdminRoutes::tokenJson);
  }

  static JsonObject tokenJson(IssuedToken t) {
    JsonObject json = new JsonObject()
        .put("id", t.id().toString())
        .put("token", t.secret())
        .put("kind", t.kind() == Principal.Kind.DEVICE ? "device" : "sender")
        .put("tenant", t.tenantId())
        .put("scopes", new JsonArray(t.scopes().stream().sorted().toList()));
    if (t.deviceId() != null) {
      json.put("device", t.deviceId());
    }
    return json;
  }
}
