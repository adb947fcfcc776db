// COPY … FROM STDIN for node-postgres without another package: pg runs any object with submit()
// as a query and hands it the protocol messages (pg-copy-streams works the same way).
import type pg from 'pg';

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const CHUNK = 1 << 16;

class CopyIn {
  private settled = false;

  constructor(
    readonly text: string,
    private readonly data: Uint8Array,
    private readonly resolve: () => void,
    private readonly reject: (e: Error) => void,
  ) {}

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    const d = this.data;
    for (let o = 0; o < d.length; o += CHUNK)
      connection.sendCopyFromChunk(Buffer.from(d.buffer, d.byteOffset + o, Math.min(CHUNK, d.length - o)));
    connection.endCopyFrom();
  }

  handleError(err: Error): void {
    // Like pg's own Query: fail at once; pg still waits for ReadyForQuery before the next query.
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve();
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** Runs `sql` (a COPY … FROM STDIN) on client, sending data as the copy stream. */
export function pgCopyIn(client: pg.ClientBase, sql: string, data: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    (client as unknown as { query(s: CopyIn): unknown }).query(new CopyIn(sql, data, resolve, reject));
  });
}
