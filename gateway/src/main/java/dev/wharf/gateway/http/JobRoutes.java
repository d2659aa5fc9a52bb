package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.error.ClientException;
import dev.wharf.ingest.JobRecord;
import dev.wharf.ingest.JobService;
import dev.wharf.ingest.JobStatus;
import io.vertx.ext.web.Router;

/** {@code /v1/jobs}: ingest job state, listing, cancel. */
final class JobRoutes {

  private final JobService jobs;

  JobRoutes(JobService jobs) {
    this.jobs = jobs;
  }

  void mount(Router router) {
    router.get("/:id").handler(ctx -> Replies.json(ctx, 200,
        () -> jobs.get(Authn.requireReader(ctx), Ids.uuid("job", ctx.pathParam("id"))).map(JobRecord::toJson)));
    router.get("/").handler(ctx -> Replies.json(ctx, 200, () -> {
      String status = ctx.request().getParam("status");
      JobStatus filter = null;
      if (status != null) {
        try {
          filter = JobStatus.fromWire(status);
        } catch (IllegalArgumentException e) {
          throw ClientException.badRequest("invalid_status", "status must be one of queued, active, succeeded, dead, cancelled");
        }
      }
      return jobs.list(Authn.requireReader(ctx), filter, ctx.request().getParam("cursor"), Replies.limit(ctx, 50, 200))
          .map(page -> Replies.page(page.items(), page.nextCursor(), JobRecord::toJson));
    }));
    router.post("/:id/cancel").handler(ctx -> Replies.json(ctx, 200,
        () -> jobs.cancel(Authn.requireReader(ctx), Ids.uuid("job", ctx.pathParam("id"))).map(JobRecord::toJson)));
  }
}
