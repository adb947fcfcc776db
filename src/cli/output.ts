// How the CLI speaks: human text in Chinese by default, one JSON document with --json, a one-line
// reason and a non-zero exit on failure, and a progress bar on a terminal for anything over a second.
import { isWeipianError } from '../domain/errors.ts';
import type { ProgressFn } from '../jobs/progress.ts';

export interface OutputOptions {
  json?: boolean;
}

export function printResult(opts: OutputOptions, data: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Prints an error as one line (or a JSON document) and returns the exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (isWeipianError(e)) {
    if (json)
      process.stdout.write(
        `${JSON.stringify({ ok: false, error: { code: e.code, message: e.message, details: e.details } }, null, 2)}\n`,
      );
    else process.stderr.write(`错误：${e.message} [${e.code}]\n`);
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (json)
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'internal', message } }, null, 2)}\n`);
  else process.stderr.write(`内部错误：${message}\n`);
  if (process.env.WEIPIAN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return 2;
}

/** A progress bar on stderr, drawn only on a terminal and only once the work has run for a second. */
export function progressBar(label: string): ProgressFn & { done(): void } {
  const started = Date.now();
  let last = 0;
  let drawn = false;
  const tty = process.stderr.isTTY === true;
  // WEIPIAN_PROGRESS=lines: plain lines without a terminal (logs, supervising scripts, tests).
  const lines = process.env.WEIPIAN_PROGRESS === 'lines';
  let lastLine = -1;
  const fn = ((done: number, total: number) => {
    if (lines) {
      const step = Math.max(1, Math.floor(total / 100));
      if (done === total || Math.floor(done / step) !== lastLine) {
        lastLine = Math.floor(done / step);
        process.stderr.write(`${label} ${done}/${total}\n`);
      }
      return;
    }
    if (!tty) return;
    const now = Date.now();
    if (now - started < 1000 || now - last < 100) return;
    last = now;
    drawn = true;
    const width = 30;
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(ratio * width);
    const rate = done / ((now - started) / 1000);
    const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) : 0;
    process.stderr.write(
      `\r${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} ${rate.toFixed(0)}/秒 剩余约 ${eta} 秒 `,
    );
  }) as ProgressFn & { done(): void };
  fn.done = () => {
    if (drawn) process.stderr.write('\n');
  };
  return fn;
}

export function fmtArea(m2: number): string {
  const mu = (m2 * 3) / 2000;
  return `${m2.toFixed(2)} 平方米（${mu.toFixed(2)} 亩）`;
}
