// Whether the link store can serve, as /readyz reports it: reads, writes, the current schema and an audit log that
// accepts rows. A schema that is gone (a database dropped and recreated empty) is migrated again in the background,
// so the hub recovers without a restart; each change of condition is logged once, with its cause.
import type { Logger } from 'pino';
import type { LinkStore, StoreCondition, StoreHealth } from './store.js';

/** A store that takes longer than this to answer the probe is as good as unreachable for a load balancer. */
const STORE_PROBE_TIMEOUT_MS = 2_000;

export class StoreReadiness {
  private last: StoreCondition = 'ok';
  private repairing: Promise<void> | null = null;

  constructor(
    private readonly store: LinkStore,
    private readonly logger: Logger,
  ) {}

  async check(): Promise<StoreHealth> {
    const health = await this.probe();
    if (health.condition !== this.last) {
      if (health.condition === 'ok') this.logger.info({ was: this.last }, 'link store ready again');
      else this.logger.error({ condition: health.condition, cause: health.cause }, 'link store cannot serve: not ready');
      this.last = health.condition;
    }
    if (health.condition === 'schema_missing' || health.condition === 'schema_outdated') this.repair();
    return health;
  }

  private repair(): void {
    if (this.repairing) return;
    this.logger.warn('running the link store migrations again');
    this.repairing = this.store
      .repairSchema()
      .then(
        () => this.logger.info('link store schema recreated'),
        (error: unknown) => this.logger.error({ err: error }, 'link store migrations failed: will retry at the next readiness check'),
      )
      .finally(() => (this.repairing = null));
  }

  private async probe(): Promise<StoreHealth> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<StoreHealth>((resolve) => {
      timer = setTimeout(() => resolve({ condition: 'unreachable', cause: `no answer within ${STORE_PROBE_TIMEOUT_MS} ms` }), STORE_PROBE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.store.checkHealth(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
