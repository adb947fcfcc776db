// Binary COPY (store/bulk.ts): what goes in comes out of the database value for value, on both
// engines, by COPY and by the INSERT fallback; a failing COPY rolls back and leaves the connection
// usable.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import {
  CopyWriter,
  copyRows,
  decodeCopyBinary,
  setInt4Column,
  type CopyColumn,
} from '../../src/store/bulk.ts';
import type { Queryable } from '../../src/store/db.ts';

const COLUMNS: CopyColumn[] = [
  { name: 'n', type: 'int4' },
  { name: 'label', type: 'text' },
  { name: 'attrs', type: 'json' },
  { name: 'blob', type: 'bytea' },
  { name: 'x', type: 'float8' },
];

interface Row {
  n: number;
  label: string | null;
  attrs: string;
  blob: Uint8Array | null;
  x: number;
}

// Chinese and 4-byte UTF-8, tab/newline/backslash (which text COPY would have to escape), NUL and
// 0xFF bytes in bytea, negative and extreme numbers, NULLs.
const ROWS: Row[] = [
  {
    n: 1,
    label: '周村区南郊镇',
    attrs: '{"DLMC":"水田","BSM":1}',
    blob: Uint8Array.from([0, 1, 255, 0]),
    x: 117.80000000000001,
  },
  {
    n: -2147483648,
    label: 'tab\there\nnew\\line 𠀀',
    attrs: '{"a":"\\"quoted\\"","b":null}',
    blob: null,
    x: -0.1,
  },
  { n: 2147483647, label: null, attrs: '{}', blob: new Uint8Array(0), x: 1.7976931348623157e308 },
  { n: 0, label: '', attrs: '[1,2.5,"三"]', blob: Uint8Array.from([0x5c, 0x78]), x: 5e-324 },
];

function write(rows: Row[]): Uint8Array {
  const w = new CopyWriter(16); // tiny on purpose: every row grows the buffer
  for (const r of rows) w.row(5).int4(r.n).text(r.label).text(r.attrs).bytea(r.blob).float8(r.x);
  assert.equal(w.rows, rows.length);
  return w.finish();
}

describe('binary COPY writer (no database)', () => {
  it('writes the PGCOPY layout byte for byte', () => {
    const w = new CopyWriter();
    const data = w.row(2).int4(7).text('地').finish();
    // signature, flags 0, extension 0 | 2 fields | len 4, 7 | len 3, E5 9C B0 | trailer −1
    assert.deepEqual(
      [...data],
      [
        0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0,
        0, 4, 0, 0, 0, 7, 0, 0, 0, 3, 0xe5, 0x9c, 0xb0, 0xff, 0xff,
      ],
    );
  });

  it('decodes what it wrote, and refuses damaged data', () => {
    const data = write(ROWS);
    const back = decodeCopyBinary(
      data,
      COLUMNS.map((c) => c.type),
    );
    assert.deepEqual(
      back,
      ROWS.map((r) => [r.n, r.label, r.attrs, r.blob, r.x]),
    );
    assert.throws(() => decodeCopyBinary(data.subarray(0, data.length - 3), ['int4']), /malformed/);
    assert.throws(() => decodeCopyBinary(data, ['int4', 'text']), /5 fields, expected 2/);
  });

  it('sets one int4 column of every row in place, and refuses a column that is not int4', () => {
    const data = write(ROWS);
    setInt4Column(data, 0, 42);
    assert.deepEqual(
      decodeCopyBinary(
        data,
        COLUMNS.map((c) => c.type),
      ),
      ROWS.map((r) => [42, r.label, r.attrs, r.blob, r.x]),
    );
    assert.throws(() => setInt4Column(data, 1, 7), /not int4/);
    assert.throws(() => setInt4Column(data, 5, 7), /no column 5/);
  });
});

for (const engine of engines()) {
  describe(`binary COPY into ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await freshDb(engine, false);
      await t.db.exec(`CREATE TABLE bulk_t (
        id serial PRIMARY KEY, n integer NOT NULL UNIQUE, label text, attrs json NOT NULL, blob bytea,
        x double precision NOT NULL)`);
    });
    after(() => t.drop());

    const read = async (q: Queryable) =>
      (
        await q.query<Row & { blob: Uint8Array | null }>(
          'SELECT n, label, attrs::text AS attrs, blob, x FROM bulk_t ORDER BY id',
        )
      ).map((r) => ({ ...r, blob: r.blob === null ? null : new Uint8Array(r.blob) }));

    it('stores every value exactly, by COPY inside a transaction and outside one', async () => {
      assert.equal(typeof t.db.copyBinary, 'function');
      await t.db.transaction((tx) => copyRows(tx, 'bulk_t', COLUMNS, write(ROWS.slice(0, 2))));
      await copyRows(t.db, 'bulk_t', COLUMNS, write(ROWS.slice(2)));
      assert.deepEqual(await read(t.db), ROWS);
    });

    it('stores the same through the INSERT fallback of a wrapper without copyBinary', async () => {
      await t.db.exec('DELETE FROM bulk_t');
      const seen: string[] = [];
      await t.db.transaction((tx) =>
        copyRows(
          {
            query: (sql, params) => {
              seen.push(sql);
              return tx.query(sql, params);
            },
            exec: (sql) => tx.exec(sql),
          },
          'bulk_t',
          COLUMNS,
          write(ROWS),
        ),
      );
      assert.equal(seen.length, 1);
      assert.match(seen[0]!, /^INSERT INTO bulk_t \(n, label, attrs, blob, x\) VALUES/);
      assert.deepEqual(await read(t.db), ROWS);
    });

    it('rolls a failing COPY back with its transaction and keeps the connection usable', async () => {
      const before = await read(t.db);
      const dup = write([{ ...ROWS[0]!, n: 99 }, ROWS[1]!]); // n of ROWS[1] already stored
      await assert.rejects(
        t.db.transaction(async (tx) => {
          await tx.query("UPDATE bulk_t SET label = 'changed' WHERE n = 1");
          await copyRows(tx, 'bulk_t', COLUMNS, dup);
        }),
        /duplicate key|unique/,
      );
      await assert.rejects(
        copyRows(t.db, 'bulk_t', COLUMNS, write([{ ...ROWS[0]!, attrs: '{not json' }])),
        /json/i,
      );
      assert.deepEqual(await read(t.db), before);
      // The same pooled connections still answer.
      for (let i = 0; i < 10; i++) assert.equal((await t.db.query('SELECT 1 AS one'))[0]!.one, 1);
    });

    it('checks foreign keys again right after a COPY whose references the caller vouched for', async () => {
      await t.db.exec(`CREATE TABLE bulk_parent (id integer PRIMARY KEY);
        INSERT INTO bulk_parent VALUES (1);
        CREATE TABLE bulk_child (parent integer NOT NULL REFERENCES bulk_parent (id), n integer)`);
      const child = (parent: number, n: number) => new CopyWriter().row(2).int4(parent).int4(n).finish();
      const cols: CopyColumn[] = [
        { name: 'parent', type: 'int4' },
        { name: 'n', type: 'int4' },
      ];
      const orphan = /foreign key/;
      // Vouched-for rows load, outside a transaction and inside one …
      await copyRows(t.db, 'bulk_child', cols, child(1, 1), { referencesKnown: true });
      let inTransaction = 'not reached';
      await t.db
        .transaction(async (tx) => {
          await copyRows(tx, 'bulk_child', cols, child(1, 2), { referencesKnown: true });
          // … and the rest of that transaction is checked as before.
          inTransaction = await tx.query('INSERT INTO bulk_child VALUES (2, 3)').then(
            () => 'accepted',
            (e: unknown) => String(e),
          );
        })
        .catch(() => undefined);
      assert.match(inTransaction, orphan);
      await assert.rejects(t.db.query('INSERT INTO bulk_child VALUES (2, 4)'), orphan);
      await assert.rejects(copyRows(t.db, 'bulk_child', cols, child(2, 5)), orphan);
      const { role } = (
        await t.db.query<{ role: string }>("SELECT current_setting('session_replication_role') AS role")
      )[0]!;
      assert.equal(role, 'origin');
      assert.deepEqual(
        (await t.db.query<{ n: number }>('SELECT n FROM bulk_child ORDER BY n')).map((r) => r.n),
        [1],
      );
    });
  });
}
