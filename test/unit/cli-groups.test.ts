// The table of which command group defines which top-level command must match what the groups
// register, or a command would be missing when only its group is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, COMMAND_GROUPS } from '../../src/cli/groups.ts';

test('every top-level command is in the table, and loading its groups alone defines it fully', async () => {
  const all = await buildProgram(['node', 'weipian']);
  const names = all.commands.map((c) => c.name()).sort();
  assert.deepEqual(names, Object.keys(COMMAND_GROUPS).sort());
  for (const name of names) {
    const alone = await buildProgram(['node', 'weipian', name]);
    const full = all.commands.find((c) => c.name() === name)!;
    const part = alone.commands.find((c) => c.name() === name);
    assert.ok(part, `${name} is defined by its groups`);
    assert.deepEqual(
      part.commands.map((c) => c.name()).sort(),
      full.commands.map((c) => c.name()).sort(),
      `${name} has all its subcommands`,
    );
  }
});
