// The submit of a form dialog: validate, mark busy, run the request, show the server's Chinese
// message on failure. One place for what every dialog of the workspace does the same way.
import { useState } from 'react';
import type { FormInstance } from 'antd';
import { ApiError } from './api.ts';

export interface FormSubmit<T> {
  busy: boolean;
  error: string | null;
  setError(e: string | null): void;
  /** An onOk/onClick handler: validates the form, then runs `run` with its values. */
  submit(run: (values: T) => Promise<void>): () => Promise<void>;
}

export function useFormSubmit<T>(form: FormInstance<T>): FormSubmit<T> {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return {
    busy,
    error,
    setError,
    submit: (run) => async () => {
      const values = await form.validateFields();
      setBusy(true);
      setError(null);
      try {
        await run(values);
      } catch (e) {
        setError(e instanceof ApiError ? e.message : String(e));
      } finally {
        setBusy(false);
      }
    },
  };
}
