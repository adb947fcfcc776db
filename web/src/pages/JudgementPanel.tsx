// The judgement of one part, as a form generated from the batch's rule pack: verdict, sub-type,
// the sub-type's fields (required ones marked and checked inline), and for illegal parts the
// handling mode with its reason code and written reason. The server checks again; a field it
// names in its answer is marked on the form.
import { useEffect, useMemo, useState } from 'react';
import { App as AntApp, Button, DatePicker, Form, Input, InputNumber, Radio, Select, Typography } from 'antd';
import dayjs from 'dayjs';
import { ApiError, put } from '../api.ts';
import type { Decision } from '../types.ts';
import { DeniedNote, ErrorAlert } from '../ui.tsx';

export interface RuleField {
  id: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'boolean' | 'enum';
  unit?: string;
  required: boolean;
  description?: string;
  enum?: { value: string; label: string }[];
  min?: number;
  max?: number;
  pattern?: string;
}
export interface FormSubtype {
  id: string;
  label: string;
  description: string;
  fields: RuleField[];
  evidence: {
    id: string;
    label: string;
    required: boolean;
    kinds: string[];
    docType?: string;
    minCount?: number;
  }[];
}
export interface JudgementForm {
  rulePack: { id: string; version: string; name: string };
  verdicts: { id: string; label: string; description: string; subtypes: FormSubtype[] }[];
  handling: {
    appliesTo: string[];
    note: string | null;
    modes: {
      id: string;
      label: string;
      description: string;
      requiresReasonCode: boolean;
      requiresWrittenReason: boolean;
      reasons: { code: string; label: string }[];
    }[];
  };
}
export interface PartView {
  id: number;
  no: number;
  origin: string;
  areaM2: number;
  verdict: string;
  verdictLabel: string;
  subtype: string | null;
  subtypeLabel: string | null;
  fields: Record<string, unknown>;
  handling: { mode: string; label: string; reasonCode: string | null; reason: string | null } | null;
  judgedBy: string | null;
  judgedAt: string | null;
  evidence: { photos: number; documents: Record<string, number> };
  missingEvidence: { id: string; label: string; required: number; have?: number }[];
}

export function JudgementPanel({
  patchId,
  part,
  form,
  version,
  decision,
  onSaved,
}: {
  patchId: number;
  part: PartView;
  form: JudgementForm;
  version: number;
  decision: Decision | { allow: boolean; message?: string };
  onSaved: () => Promise<void>;
}) {
  const [f] = Form.useForm();
  const { message } = AntApp.useApp();
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const verdict = Form.useWatch('verdict', f) as string | undefined;
  const subtype = Form.useWatch('subtype', f) as string | undefined;
  const mode = Form.useWatch(['handling', 'mode'], f) as string | undefined;
  const branch = form.verdicts.find((v) => v.id === verdict);
  const st = branch?.subtypes.find((x) => x.id === subtype);
  const handlingMode = form.handling.modes.find((m) => m.id === mode);
  const needsHandling = verdict !== undefined && form.handling.appliesTo.includes(verdict);
  const disabled = !decision.allow;

  const initial = useMemo(() => {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(part.fields ?? {}))
      fields[k] = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? dayjs(v) : v;
    return {
      verdict: part.verdict === 'undetermined' ? undefined : part.verdict,
      subtype: part.subtype ?? undefined,
      fields,
      handling: part.handling
        ? { mode: part.handling.mode, reasonCode: part.handling.reasonCode, reason: part.handling.reason }
        : undefined,
    };
  }, [part]);

  useEffect(() => {
    f.resetFields();
    f.setFieldsValue(initial);
  }, [f, initial]);

  const save = async () => {
    const v = await f.validateFields();
    const fields: Record<string, unknown> = {};
    for (const [k, val] of Object.entries((v.fields ?? {}) as Record<string, unknown>)) {
      if (val === undefined || val === null || val === '') continue;
      fields[k] = dayjs.isDayjs(val) ? val.format('YYYY-MM-DD') : val;
    }
    setSaving(true);
    setError(null);
    try {
      await put(`/api/patches/${patchId}/parts/${part.id}/judgement`, {
        version,
        verdict: v.verdict,
        subtype: v.subtype ?? null,
        fields,
        handling:
          needsHandling && v.handling?.mode
            ? {
                mode: v.handling.mode,
                reasonCode: v.handling.reasonCode ?? null,
                reason: v.handling.reason ?? null,
              }
            : null,
      });
      message.success(`第 ${part.no} 部分的判定已保存`);
      await onSaved();
    } catch (e) {
      if (e instanceof ApiError) {
        setError(e.message);
        const field = (e.details as { field?: string } | undefined)?.field;
        if (field) {
          const name = st?.fields.some((x) => x.id === field)
            ? ['fields', field]
            : field === 'reason' || field === 'reasonCode'
              ? ['handling', field]
              : null;
          if (name) f.setFields([{ name, errors: [e.message] }]);
        }
      } else setError(String(e));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Form form={f} layout="vertical" disabled={disabled} data-testid={`judgement-form-${part.no}`}>
      <ErrorAlert error={error} testId="judgement-error" />
      <Form.Item name="verdict" label="判定" rules={[{ required: true, message: '请选择判定' }]}>
        <Select
          placeholder="选择判定"
          data-testid="verdict-select"
          options={form.verdicts
            .filter((x) => x.id !== 'undetermined')
            .map((x) => ({ value: x.id, label: x.label, title: x.description }))}
          onChange={() => f.setFieldsValue({ subtype: undefined, fields: {}, handling: undefined })}
        />
      </Form.Item>
      {branch && branch.subtypes.length > 0 && (
        <Form.Item
          name="subtype"
          label="细类"
          rules={[{ required: true, message: '请选择细类' }]}
          extra={st?.description}
        >
          <Select
            placeholder="选择细类"
            data-testid="subtype-select"
            options={branch.subtypes.map((x) => ({ value: x.id, label: x.label }))}
            onChange={() => f.setFieldsValue({ fields: {} })}
          />
        </Form.Item>
      )}
      {st?.fields.map((fd) => (
        <Form.Item
          key={fd.id}
          name={['fields', fd.id]}
          label={`${fd.label}${fd.unit && fd.unit !== 'none' ? `（${fd.unit === 'm2' ? '平方米' : fd.unit}）` : ''}`}
          extra={fd.description}
          rules={[
            { required: fd.required, message: `请填写“${fd.label}”` },
            ...(fd.pattern ? [{ pattern: new RegExp(fd.pattern), message: `“${fd.label}”格式不正确` }] : []),
            ...(fd.type === 'number' && (fd.min !== undefined || fd.max !== undefined)
              ? [
                  {
                    type: 'number' as const,
                    min: fd.min,
                    max: fd.max,
                    message: `“${fd.label}”应在 ${fd.min ?? '-∞'} 到 ${fd.max ?? '∞'} 之间`,
                  },
                ]
              : []),
          ]}
        >
          {fd.type === 'number' ? (
            <InputNumber style={{ width: '100%' }} />
          ) : fd.type === 'date' ? (
            <DatePicker style={{ width: '100%' }} />
          ) : fd.type === 'boolean' ? (
            // 是/否 with no default: a required fact must be answered, not left at “否”.
            <Radio.Group
              options={[
                { value: true, label: '是' },
                { value: false, label: '否' },
              ]}
            />
          ) : fd.type === 'enum' ? (
            <Select
              data-testid={`select-${fd.id}`}
              options={(fd.enum ?? []).map((e) => ({ value: e.value, label: e.label }))}
            />
          ) : (
            <Input />
          )}
        </Form.Item>
      ))}
      {needsHandling && (
        <>
          <Form.Item
            name={['handling', 'mode']}
            label="处理方式"
            rules={[{ required: true, message: '违法部分须选择处理方式' }]}
            extra={form.handling.note}
          >
            <Select
              placeholder="选择处理方式"
              data-testid="handling-select"
              options={form.handling.modes.map((m) => ({
                value: m.id,
                label: m.label,
                title: m.description,
              }))}
            />
          </Form.Item>
          {handlingMode?.requiresReasonCode && (
            <Form.Item
              name={['handling', 'reasonCode']}
              label="不立案理由"
              rules={[{ required: true, message: '请选择理由' }]}
            >
              <Select
                options={handlingMode.reasons.map((r) => ({ value: r.code, label: `${r.code} ${r.label}` }))}
              />
            </Form.Item>
          )}
          {handlingMode?.requiresWrittenReason && (
            <Form.Item
              name={['handling', 'reason']}
              label="书面说明"
              rules={[{ required: true, whitespace: true, message: '请填写书面说明' }]}
            >
              <Input.TextArea rows={2} maxLength={2000} />
            </Form.Item>
          )}
        </>
      )}
      {st && st.evidence.length > 0 && (
        <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
          所需举证：{st.evidence.map((e) => `${e.label}${e.required ? '（必需）' : ''}`).join('、')}
        </Typography.Paragraph>
      )}
      <Button
        type="primary"
        onClick={() => void save()}
        loading={saving}
        disabled={disabled}
        data-testid="save-judgement"
      >
        保存判定
      </Button>
      <DeniedNote decision={decision} />
    </Form>
  );
}
