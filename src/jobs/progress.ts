// Progress of long work, reported as (done, total). The CLI draws a bar from it; later the API
// will stream it to the web app.
export type ProgressFn = (done: number, total: number, label?: string) => void;

export const noProgress: ProgressFn = () => undefined;
