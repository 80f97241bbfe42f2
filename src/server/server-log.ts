// The server's log on stderr: JSON lines for a collector, or one readable line per event for a person at a terminal.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Pretty on a terminal; JSON when stderr goes to a file, a pipe or a collector. */
export const defaultLogFormat = (): LogFormat => (process.stderr.isTTY ? 'pretty' : 'json');

/** An access line reads `POST /v1/chat/completions 200 12.3ms`, followed by who, which model and what it cost. */
function messageOf(log: Record<string, unknown>, messageKey: string): string {
  const msg = String(log[messageKey] ?? '');
  if (log.method === undefined) return msg;
  return `${String(log.method)} ${String(log.route)} ${String(log.status)} ${String(log.ms)}ms${msg === 'request' ? '' : ` ${msg}`}`;
}

export function serverLogger(level: string, format: LogFormat = defaultLogFormat()): Logger {
  if (format === 'json') return pino({ level }, pino.destination(2));
  return pino(
    { level },
    pretty({
      destination: 2,
      // A terminal reads lines as they happen; nothing is held back for a crash to lose.
      sync: true,
      colorize: Boolean(process.stderr.isTTY),
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      // What the message already says, and what a person at their own terminal does not need on every line.
      ignore: 'pid,hostname,method,route,status,ms',
      // `error` is an access line's error code, one field among others; only `err` is a thrown error with a stack.
      errorLikeObjectKeys: ['err'],
      messageFormat: messageOf,
    }),
  );
}
