// Shared construction of `weipian` commands: Chinese help titles, --json on every command, and
// one place that turns any failure into a one-line reason and an exit code.
import { Command, CommanderError } from 'commander';
import { reportError } from './output.ts';

const TITLES: Record<string, string> = {
  'Usage:': '用法：',
  'Options:': '选项：',
  'Commands:': '命令：',
  'Arguments:': '参数：',
  'Global Options:': '全局选项：',
};

export function newCommand(name: string, description: string): Command {
  const cmd = new Command(name)
    .description(description)
    .helpOption('-h, --help', '显示帮助')
    .configureHelp({ styleTitle: (t) => TITLES[t] ?? t, sortSubcommands: false })
    .exitOverride()
    .configureOutput({
      // Commander's own parse errors (unknown option, missing argument) become our one-line form.
      outputError: (str, write) => write(`错误：${str.replace(/^error: /, '').trim()}\n`),
    });
  cmd.helpCommand('help [命令]', '显示某个命令的帮助');
  return cmd;
}

/** A leaf command: adds --json and runs the action with uniform error handling. */
export function leaf<A extends unknown[]>(
  parent: Command,
  nameAndArgs: string,
  description: string,
  configure: (c: Command) => Command,
  action: (...args: A) => Promise<void>,
): Command {
  const c = configure(newCommand(nameAndArgs.split(' ')[0]!, description));
  const args = nameAndArgs.split(' ').slice(1);
  for (const a of args) c.argument(a);
  c.option('--json', '以 JSON 输出结果（供脚本使用）');
  c.action(async (...received: unknown[]) => {
    const cmd = received[received.length - 1] as Command;
    try {
      await action(...(received as A));
    } catch (e) {
      process.exitCode = reportError(e, cmd.opts().json === true);
    }
  });
  parent.addCommand(c);
  return c;
}

export function isCommanderExit(e: unknown): e is CommanderError {
  return e instanceof CommanderError;
}
