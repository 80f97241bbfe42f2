// The server's log on stderr: JSON lines for a collector, or one readable line per event for a person at a terminal.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

const PENDING_LOG_BYTES = 16 * 1024 * 1024;

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Pretty on a terminal; JSON when stderr goes to a file, a pipe or a collector. */
export const defaultLogFormat = (): LogFormat => (process.stderr.isTTY ? 'pretty' : 'json');

/** An access line's `name=value` fields, in the order a person scans them: who and where, then how it went. */
const WHO = ['tenant', 'key', 'model', 'replica'];
const HOW = ['cache', 'error', 'closed'];
/** Every field an access line's message says, so none is said twice. */
const ACCESS_FIELDS = ['method', 'route', 'status', 'ms', 'reqId', ...WHO, 'promptTokens', 'completionTokens', ...HOW, 'message'];

/** Where a pretty access line keeps its words: the head before the message, the rest after it. */
const WORDS = 'accessWords';

const isAccessLine = (log: Record<string, unknown>) => log.method !== undefined && log.status !== undefined;

/**
 * For a person at a terminal, an access line's fields become words: `POST /v1/chat/completions 200 12.3ms req_1
 * tenant=acme model=chat tokens=43+8`, short enough for the terminal's width beside the banner, where a JSON tail of
 * the same fields would wrap every line. Any other line (a reload, a rollout step) keeps its fields as they are.
 */
function inWords(log: Record<string, unknown>): Record<string, unknown> {
  if (!isAccessLine(log)) return log;
  const head = `${String(log.method)} ${String(log.route)} ${String(log.status)} ${String(log.ms)}ms`;
  const tail = log.reqId === undefined ? [] : [String(log.reqId)];
  for (const field of WHO) if (log[field] !== undefined) tail.push(`${field}=${String(log[field])}`);
  if (log.promptTokens !== undefined || log.completionTokens !== undefined)
    tail.push(`tokens=${String(log.promptTokens ?? 0)}+${String(log.completionTokens ?? 0)}`);
  for (const field of HOW) if (log[field] !== undefined) tail.push(`${field}=${String(log[field])}`);
  if (log.message !== undefined) tail.push(JSON.stringify(log.message));
  const rest = Object.fromEntries(Object.entries(log).filter(([field]) => !ACCESS_FIELDS.includes(field)));
  return { ...rest, [WORDS]: [head, tail.join(' ')] };
}

function messageOf(log: Record<string, unknown>, messageKey: string): string {
  const msg = String(log[messageKey] ?? '');
  const words = log[WORDS] as [string, string] | undefined;
  if (!words) return msg;
  return [words[0], msg === 'request' ? '' : msg, words[1]].filter(Boolean).join(' ');
}

/** How long a JSON line may wait for others before it is written, and how many bytes are written at once. */
const LOG_BATCH_MS = 100;
const LOG_BATCH_BYTES = 4096;

/**
 * JSON lines written off the event loop: a collector that reads stderr slowly (a full pipe) once stalled every request
 * behind a synchronous write's retry sleep. Lines gather for up to 100 ms or 4 KB and go out in one write: one write
 * per access line had cost a gateway a thread-pool round trip per request, 15% of its CPU at one request at a time.
 * What is pending is flushed at exit; past 16 MB pending, lines are dropped rather than held, so a collector that
 * stops reading costs memory no further.
 */
function jsonDestination() {
  // sonic-boom's own periodic flush: a flush asked during a write is asked again at the next tick, and its timer stops
  // when the destination is destroyed. An idle tick writes nothing but an empty string.
  return pino.destination({ dest: 2, sync: false, minLength: LOG_BATCH_BYTES, maxLength: PENDING_LOG_BYTES, periodicFlush: LOG_BATCH_MS });
}

export function serverLogger(level: string, format: LogFormat = defaultLogFormat()): Logger {
  if (format === 'json') return pino({ level }, jsonDestination());
  return pino(
    { level, formatters: { log: inWords } },
    pretty({
      destination: 2,
      // A terminal reads lines as they happen; nothing is held back for a crash to lose.
      sync: true,
      colorize: Boolean(process.stderr.isTTY),
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      // What a person at their own terminal does not need on every line.
      ignore: `pid,hostname,${WORDS}`,
      // `error` is an access line's error code, one field among others; only `err` is a thrown error with a stack.
      errorLikeObjectKeys: ['err'],
      messageFormat: messageOf,
    }),
  );
}
