// Clock-free output: a zip (an .xlsx is one) has every entry's time set to one fixed DOS date-time,
// so two workbooks written at different moments are byte-identical.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import yazl from 'yazl';
import yauzl from 'yauzl';
import ExcelJS from 'exceljs';
import { fixZipTimes, workbookBytes } from '../../src/demo/output.ts';

function zip(mtime: Date): Promise<Buffer> {
  const z = new yazl.ZipFile();
  z.addBuffer(Buffer.from('一张表'), 'xl/a.xml', { mtime });
  z.addBuffer(Buffer.from('x'.repeat(500)), 'docProps/core.xml', { mtime, compress: true });
  z.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    z.outputStream.on('error', reject);
  });
}

function entries(buf: Uint8Array): Promise<{ name: string; time: number; date: number; text: string }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(Buffer.from(buf), { lazyEntries: true }, (err, zf) => {
      if (err || !zf) return reject(err);
      const out: { name: string; time: number; date: number; text: string }[] = [];
      zf.on('entry', (e: yauzl.Entry) => {
        zf.openReadStream(e, (err2, rs) => {
          if (err2 || !rs) return reject(err2);
          const parts: Buffer[] = [];
          rs.on('data', (c: Buffer) => parts.push(c));
          rs.on('end', () => {
            out.push({
              name: e.fileName,
              time: e.lastModFileTime,
              date: e.lastModFileDate,
              text: Buffer.concat(parts).toString(),
            });
            zf.readEntry();
          });
        });
      });
      zf.on('end', () => resolve(out));
      zf.readEntry();
    });
  });
}

describe('demo output', () => {
  it('sets every zip entry to the same fixed date-time, in the central directory and the local headers', async () => {
    const a = fixZipTimes(await zip(new Date(2026, 10, 26, 3, 14, 15)), [2018, 4, 9]);
    const b = fixZipTimes(await zip(new Date(2025, 0, 2, 22, 1, 59)), [2018, 4, 9]);
    assert.deepEqual(Buffer.from(a), Buffer.from(b));
    const list = await entries(a);
    // DOS date (2018 − 1980) << 9 | 4 << 5 | 9 = 19593; 09:00:00 is 9 << 11 = 18432.
    assert.deepEqual(
      list.map((e) => [e.name, e.date, e.time]),
      [
        ['xl/a.xml', 19593, 18432],
        ['docProps/core.xml', 19593, 18432],
      ],
    );
    assert.equal(list[0]!.text, '一张表');
    assert.equal(list[1]!.text, 'x'.repeat(500));
    // Local header of the first entry (offset 0): time at 10, date at 12.
    const view = new DataView(a.buffer, a.byteOffset);
    assert.deepEqual([view.getUint16(10, true), view.getUint16(12, true)], [18432, 19593]);
  });

  it('refuses bytes that are not a zip', () => {
    assert.throws(() => fixZipTimes(new Uint8Array(100), [2018, 4, 9]), /not a zip/);
  });

  it('writes a workbook whose bytes do not depend on the clock, with title and header rows', async () => {
    const spec = {
      sheet: '表',
      title: '周村区示例表',
      headers: ['监测编号', '中心点X', '中心点Y'],
      rows: [['K37030620170001', 4071234.56, 39573210.98]],
      numFmt: { 1: '0.00', 2: '0.00' },
      day: [2018, 4, 9] as const,
    };
    const first = await workbookBytes(spec);
    await new Promise((r) => setTimeout(r, 2100)); // DOS times count in 2-second steps
    const second = await workbookBytes(spec);
    assert.deepEqual(Buffer.from(second), Buffer.from(first));
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(first) as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('表')!;
    assert.equal(ws.getCell('A1').value, '周村区示例表');
    assert.deepEqual((ws.getRow(2).values as unknown[]).slice(1), spec.headers);
    assert.deepEqual((ws.getRow(3).values as unknown[]).slice(1), spec.rows[0]);
    assert.equal(wb.modified.toISOString(), '2018-04-09T01:00:00.000Z');
  });
});
