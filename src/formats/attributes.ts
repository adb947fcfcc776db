// Delivered attributes as stored: JSON text that keeps the delivered field order, with DBF dates as
// 'YYYY-MM-DD' (the calendar date written in the file — never shifted by a time zone).
export function attributesToJson(attrs: Record<string, unknown>): string {
  return JSON.stringify(attrs, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.toISOString().slice(0, 10) : value;
  });
}
