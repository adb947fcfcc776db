// Integrity signals (举证疑点) of photos and the reviewer's decision on each: confirm it as a finding
// (核查发现: 虚假举证, 照片复用 …) or dismiss it, always with a reason. Used by the evidence gallery
// of the patch page and by the review queue's list of a batch's open signals.
import { App as AntApp, Form, Input, Modal, Radio, Space, Tag, Typography } from 'antd';
import { fmtTime, post } from '../api.ts';
import { useFormSubmit } from '../submit.ts';
import { useSession } from '../session.tsx';
import { ActionButton, ErrorAlert } from '../ui.tsx';
import type { Decision } from '../types.ts';

export interface Signal {
  id: number;
  evidence_id?: number;
  code: string;
  label: string;
  message: string;
  status: 'open' | 'confirmed' | 'dismissed' | string;
  finding?: string | null;
  finding_label: string | null;
  reason?: string | null;
  decided_by?: string | null;
  decided_at?: string | null;
  created_at?: string;
  /** Only in the batch list. */
  patch_id?: number;
  jcbh?: string;
}

// Which finding a kind of signal usually becomes: shown as a hint, never preselected (a fraud
// finding counts towards a warning interview, so the reviewer must choose it deliberately).
const USUAL_FINDING: Record<string, string> = {
  duplicate_file: 'photo_reuse',
  similar_image: 'photo_reuse',
  no_position: 'nonconforming',
  no_time: 'nonconforming',
  exif_upload_gap: 'nonconforming',
  far_from_patch: 'false_evidence',
  facing_away: 'false_evidence',
  outside_work_window: 'false_evidence',
  before_after_image: 'false_evidence',
};

const FALLBACK_FINDINGS = [
  { id: 'false_evidence', label: '虚假举证', fraud: true },
  { id: 'photo_reuse', label: '照片复用', fraud: true },
  { id: 'nonconforming', label: '举证不规范', fraud: false },
];

export function useFindings() {
  const { config } = useSession();
  return config.findings ?? FALLBACK_FINDINGS;
}

export const SIGNAL_STATUS: Record<string, { label: string; color: string }> = {
  open: { label: '待审核', color: 'orange' },
  confirmed: { label: '已认定', color: 'red' },
  dismissed: { label: '已排除', color: 'default' },
};

/** One signal: what was found in plain words, and what the reviewer decided (or the two buttons). */
export function SignalView({
  signal,
  decision,
  onDecide,
  compact,
}: {
  signal: Signal;
  decision: Decision | { allow: boolean; message?: string };
  onDecide: (s: Signal, mode: 'confirm' | 'dismiss') => void;
  compact?: boolean;
}) {
  const st = SIGNAL_STATUS[signal.status] ?? { label: signal.status, color: 'default' };
  return (
    <div
      data-testid="signal"
      data-signal-status={signal.status}
      data-signal-code={signal.code}
      style={{
        borderLeft: `3px solid ${signal.status === 'open' ? '#fa8c16' : signal.status === 'confirmed' ? '#f5222d' : '#d9d9d9'}`,
        padding: '2px 0 2px 8px',
        margin: '6px 0',
      }}
    >
      <Space size={4} wrap>
        <Typography.Text strong style={{ fontSize: 13 }}>
          {signal.label}
        </Typography.Text>
        <Tag color={st.color} style={{ marginInlineEnd: 0 }}>
          {signal.status === 'confirmed' && signal.finding_label
            ? `已认定：${signal.finding_label}`
            : st.label}
        </Tag>
      </Space>
      {!compact && (
        <div style={{ fontSize: 12, color: '#595959' }} data-testid="signal-message">
          {signal.message}
        </div>
      )}
      {signal.status === 'open' ? (
        <Space size={4} style={{ marginTop: 4 }}>
          <ActionButton
            size="small"
            danger
            decision={decision}
            onClick={() => onDecide(signal, 'confirm')}
            data-testid="signal-confirm"
          >
            认定
          </ActionButton>
          <ActionButton
            size="small"
            decision={decision}
            onClick={() => onDecide(signal, 'dismiss')}
            data-testid="signal-dismiss"
          >
            排除
          </ActionButton>
        </Space>
      ) : (
        <div style={{ fontSize: 12, color: '#8c8c8c' }} data-testid="signal-decided">
          {signal.decided_by} 于 {fmtTime(signal.decided_at)}
          {signal.status === 'confirmed' ? '认定' : '排除'}
          {signal.reason ? `，理由：${signal.reason}` : ''}
        </div>
      )}
    </div>
  );
}

/** Confirm (with a finding) or dismiss a signal, with a reason; the server's refusal is shown. */
export function SignalDecisionModal({
  target,
  onClose,
  onDone,
}: {
  target: { signal: Signal; mode: 'confirm' | 'dismiss' } | null;
  onClose: () => void;
  onDone: () => Promise<void> | void;
}) {
  const [form] = Form.useForm<{ finding?: string; reason: string }>();
  const { busy, error, setError, submit } = useFormSubmit(form);
  const { message } = AntApp.useApp();
  const findings = useFindings();
  const confirm = target?.mode === 'confirm';
  const usual = target ? USUAL_FINDING[target.signal.code] : undefined;

  return (
    <Modal
      open={target !== null}
      title={
        target
          ? `${confirm ? '认定' : '排除'}疑点：${target.signal.label}${target.signal.jcbh ? `（${target.signal.jcbh}）` : ''}`
          : ''
      }
      okText={confirm ? '认定为核查发现' : '排除疑点'}
      cancelText="取消"
      okButtonProps={{ danger: confirm, loading: busy, 'data-testid': 'signal-decision-ok' } as never}
      destroyOnHidden
      onCancel={() => {
        setError(null);
        onClose();
      }}
      afterClose={() => setError(null)}
      onOk={submit(async (v) => {
        await post(`/api/evidence-signals/${target!.signal.id}/decision`, {
          decision: target!.mode,
          ...(confirm ? { finding: v.finding } : {}),
          reason: v.reason,
        });
        message.success(confirm ? '已认定为核查发现' : '已排除该疑点');
        form.resetFields();
        await onDone();
      })}
    >
      {target && (
        <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>
          {target.signal.message}
        </Typography.Paragraph>
      )}
      <ErrorAlert error={error} testId="signal-error" />
      <Form form={form} layout="vertical" preserve={false}>
        {confirm && (
          <Form.Item
            name="finding"
            label="认定为"
            rules={[{ required: true, message: '请选择核查发现' }]}
            extra="虚假举证、照片复用属弄虚作假，计入警示约谈条件。"
          >
            <Radio.Group data-testid="finding-select">
              <Space direction="vertical">
                {findings.map((f) => (
                  <Radio key={f.id} value={f.id}>
                    {f.label}
                    {f.fraud && <Tag style={{ marginLeft: 6 }}>弄虚作假</Tag>}
                    {usual === f.id && (
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        （此类疑点通常认定为此项）
                      </Typography.Text>
                    )}
                  </Radio>
                ))}
              </Space>
            </Radio.Group>
          </Form.Item>
        )}
        <Form.Item
          name="reason"
          label={confirm ? '认定理由' : '排除理由'}
          rules={[{ required: true, whitespace: true, message: '请写明理由' }]}
        >
          <Input.TextArea
            rows={3}
            maxLength={2000}
            showCount
            placeholder={
              confirm
                ? '写明核实的情况，如：照片位置与图斑相距 2 公里，现场并非本图斑'
                : '写明可以排除的依据，如：相机未开定位，经视频连线核实为本图斑现场'
            }
            data-testid="signal-reason"
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
