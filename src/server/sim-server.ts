// The simulator as a standalone OpenAI-compatible server (`autoglm sim`), with run-time fault control.
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import { seededRandom } from '../core/index.js';
import { faultSettingsSchema, type FaultSettings, type ServerSettings, type SimSettingsInput } from '../config/index.js';
import { SimEngine } from '../engines/sim/index.js';
import { startServer, type RunningServer, type ServedModels } from './serve.js';
import { parseBody } from './request-schema.js';

export type SimServer = RunningServer<ServedModels & { engine: SimEngine }>;

/**
 * A change to some faults: each field named is checked as the settings check it, and none is filled in. With the
 * settings' own schema made partial, zod would fill every field left out with its default, resetting it.
 */
const faultChangeSchema = z.strictObject(
  Object.fromEntries(Object.entries(faultSettingsSchema.shape).map(([name, field]) => [name, field.unwrap().optional()])) as {
    [K in keyof FaultSettings]: z.ZodOptional<z.ZodNumber>;
  },
);

export async function serveSim(sim: SimSettingsInput, server: Partial<ServerSettings> = {}, logger?: FastifyBaseLogger): Promise<SimServer> {
  const engine = new SimEngine(sim);
  const connections = seededRandom(engine.settings.seed ^ 0x5eed);
  return startServer({
    // A simulated upstream keeps no ledger on disk: it stands in for someone else's server.
    tenancy: { database: ':memory:' },
    server,
    logger,
    routes: (app) => {
      // "Refuse connections": accepted sockets are reset at once, as a crashed or overloaded upstream does.
      app.server.on('connection', (socket) => {
        if (connections.next() < engine.faultSettings.refuseRate) socket.destroy();
      });
      app.get('/sim/stats', async () => ({ ...engine.stats, faults: engine.faultSettings }));
      app.get('/sim/faults', async () => engine.faultSettings);
      // Changes only the faults named in the body; the answer is every fault as it now stands.
      app.post('/sim/faults', async (request) => engine.setFaults(parseBody(faultChangeSchema, request.body ?? {})));
    },
    load: async () => ({
      engine,
      model: engine,
      embedder: engine.embeddings,
      defaultModel: engine.settings.model,
      gauges: [
        {
          model: engine.settings.model,
          stats: () => ({ parallel: engine.stats.maxRunning, busySequences: engine.stats.running, queueDepth: engine.stats.waiting }),
        },
      ],
      dispose: async () => undefined,
    }),
  });
}
