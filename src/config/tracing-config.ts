// The `tracing:` section: OpenTelemetry traces over OTLP/HTTP, off unless asked for; the standard OTEL_* variables fill in.
import { z } from 'zod';

export const tracingConfigSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Export a trace of every request (default: off, or on when AUTOGLM_TRACING=1)'),
    endpoint: z
      .url()
      .optional()
      .describe('OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT)'),
    serviceName: z.string().min(1).optional().describe('service.name of the spans (default: OTEL_SERVICE_NAME, else autoglm)'),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("Share of new traces kept; a caller's sampled traceparent is followed (default: OTEL_TRACES_SAMPLER)"),
  })
  .default({});

export type TracingConfig = z.infer<typeof tracingConfigSchema>;

/** What the tracing SDK is started with, once the config and the environment are merged. */
export interface TracingSettings {
  endpoint?: string;
  serviceName: string;
  sampleRatio?: number;
}

/**
 * The settings when tracing is on, else undefined: the config's `enabled` wins, then AUTOGLM_TRACING=1;
 * OTEL_SDK_DISABLED=true turns it off whatever else says, as the OpenTelemetry SDKs read it.
 */
export function tracingSettings(config: TracingConfig | undefined, env: NodeJS.ProcessEnv = process.env): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const enabled = config?.enabled ?? env.AUTOGLM_TRACING === '1';
  if (!enabled) return undefined;
  return {
    ...(config?.endpoint !== undefined && { endpoint: config.endpoint }),
    serviceName: config?.serviceName ?? (env.OTEL_SERVICE_NAME || 'autoglm'),
    ...(config?.sampleRatio !== undefined && { sampleRatio: config.sampleRatio }),
  };
}
