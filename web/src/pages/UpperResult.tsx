// The upper level's results (上级核查结果) on the patch page: the round it was reported in, each
// result recorded (通过, or 退回 with the reason and a due date; by hand or from an Excel list, with
// the file and row), and recording one — the button disabled with the workflow's reason otherwise.
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { App as AntApp, Card, DatePicker, Form, Input, Modal, Radio, Space, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { fmtTime, post } from '../api.ts';
import { useFormSubmit } from '../submit.ts';
import { ActionButton, ErrorAlert } from '../ui.tsx';

export interface UpperResult {
  result: 'passed' | 'returned';
  reason: string | null;
  dueDate: string | null;
  round: string | null;
  source: 'manual' | 'excel' | string;
  sourceFile: string | null;
  sourceRow: number | null;
  recordedBy: string;
  recordedAt: string;
}

interface Allowed {
  allow: boolean;
  reason?: string;
  message?: string;
}

const REPORTED = ['reported', 'upper_passed', 'upper_returned'];

export function UpperResultCard({
  patchId,
  version,
  state,
  results,
  reportedRound,
  allowed,
  onDone,
}: {
  patchId: number;
  version: number;
  state: string;
  results: UpperResult[];
  reportedRound: { seq: number; label: string } | null;
  allowed: Record<string, Allowed>;
  onDone: () => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  const pass = allowed.upper_pass ?? { allow: false };
  const ret = allowed.upper_return ?? { allow: false };
  // Offered to those who may record results at all (reviewers, admins) and shown to everybody once
  // the patch has been reported.
  const mayRecord = pass.reason !== 'role_not_allowed' || ret.reason !== 'role_not_allowed';
  if (results.length === 0 && !REPORTED.includes(state) && !mayRecord) return null;
  const decision = pass.allow || ret.allow ? { allow: true } : { allow: false, message: pass.message };
  return (
    <Card
      title="上级核查结果"
      size="small"
      style={{ marginBottom: 12 }}
      data-testid="upper-results"
      extra={
        <ActionButton
          size="small"
          type="primary"
          decision={decision}
          onClick={() => setOpen(true)}
          data-testid="upper-record-button"
        >
          登记上级结果
        </ActionButton>
      }
    >
      {reportedRound ? (
        <Typography.Paragraph style={{ marginTop: 0 }}>
          随<Link to={`/rounds/${reportedRound.seq}`}>{reportedRound.label}</Link>（第 {reportedRound.seq}{' '}
          轮）上报。
        </Typography.Paragraph>
      ) : null}
      {results.length === 0 ? (
        <Typography.Text type="secondary">
          {REPORTED.includes(state)
            ? '已上报，尚未登记上级审核结果。'
            : '图斑随报送轮次上报后，在这里登记上级（市、省、部）的审核结果；也可在“报送轮次”页导入上级的结果清单（Excel）。'}
        </Typography.Text>
      ) : (
        results
          .slice()
          .reverse()
          .map((r, i) => (
            <div
              key={i}
              data-testid="upper-result"
              data-result={r.result}
              style={{ padding: '6px 0', borderTop: i ? '1px solid #f0f0f0' : undefined }}
            >
              <Space wrap size={4}>
                <Tag color={r.result === 'passed' ? 'green' : 'red'}>
                  {r.result === 'passed' ? '上级审核通过' : '上级退回'}
                </Tag>
                {r.round && <Tag>{r.round}</Tag>}
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {r.recordedBy} 于 {fmtTime(r.recordedAt)}{' '}
                  {r.source === 'excel'
                    ? `从 Excel“${r.sourceFile ?? ''}”第 ${r.sourceRow ?? '?'} 行导入`
                    : '手工登记'}
                </Typography.Text>
              </Space>
              {r.reason && <div>原因：{r.reason}</div>}
              {r.dueDate && <div>整改期限：{r.dueDate} 24 时前</div>}
            </div>
          ))
      )}
      {!decision.allow && mayRecord && decision.message && (
        <div style={{ color: '#8c8c8c', fontSize: 12, marginTop: 4 }}>{decision.message}</div>
      )}
      <RecordModal
        open={open}
        patchId={patchId}
        version={version}
        pass={pass}
        ret={ret}
        onClose={() => setOpen(false)}
        onDone={async () => {
          setOpen(false);
          await onDone();
        }}
      />
    </Card>
  );
}

function RecordModal({
  open,
  patchId,
  version,
  pass,
  ret,
  onClose,
  onDone,
}: {
  open: boolean;
  patchId: number;
  version: number;
  pass: Allowed;
  ret: Allowed;
  onClose: () => void;
  onDone: () => Promise<void>;
}) {
  const [form] = Form.useForm<{ result: 'passed' | 'returned'; reason?: string; dueDate?: dayjs.Dayjs }>();
  const result = Form.useWatch('result', form);
  const { busy, error, setError, submit } = useFormSubmit(form);
  const { message } = AntApp.useApp();
  return (
    <Modal
      open={open}
      title="登记上级审核结果"
      okText="登记"
      cancelText="取消"
      okButtonProps={{ loading: busy, 'data-testid': 'upper-record-ok' } as never}
      destroyOnHidden
      onCancel={() => {
        setError(null);
        onClose();
      }}
      onOk={submit(async (v) => {
        await post(`/api/patches/${patchId}/upper-result`, {
          version,
          result: v.result,
          reason: v.reason?.trim() || null,
          dueDate: v.result === 'returned' && v.dueDate ? v.dueDate.format('YYYY-MM-DD') : null,
        });
        message.success(
          v.result === 'passed' ? '已登记上级审核通过' : '已登记上级退回，图斑退回责任单位修改',
        );
        form.resetFields();
        await onDone();
      })}
    >
      <ErrorAlert error={error} testId="upper-record-error" />
      <Form
        form={form}
        layout="vertical"
        preserve={false}
        initialValues={{ result: pass.allow ? 'passed' : ret.allow ? 'returned' : undefined }}
      >
        <Form.Item name="result" label="上级审核结果" rules={[{ required: true, message: '请选择审核结果' }]}>
          <Radio.Group data-testid="upper-result-select">
            <Space direction="vertical">
              <Radio value="passed" disabled={!pass.allow}>
                通过
                {!pass.allow && pass.message && (
                  <Typography.Text type="secondary" style={{ fontSize: 12, marginLeft: 6 }}>
                    {pass.message}
                  </Typography.Text>
                )}
              </Radio>
              <Radio value="returned" disabled={!ret.allow}>
                退回（图斑退回责任单位修改后重新提交）
                {!ret.allow && ret.message && (
                  <Typography.Text type="secondary" style={{ fontSize: 12, marginLeft: 6 }}>
                    {ret.message}
                  </Typography.Text>
                )}
              </Radio>
            </Space>
          </Radio.Group>
        </Form.Item>
        <Form.Item
          name="reason"
          label={result === 'returned' ? '退回原因' : '审核意见（可选）'}
          rules={[{ required: result === 'returned', whitespace: true, message: '上级退回须填写原因' }]}
        >
          <Input.TextArea
            rows={3}
            maxLength={1000}
            showCount
            placeholder={result === 'returned' ? '照录上级的退回意见' : ''}
            data-testid="upper-reason"
          />
        </Form.Item>
        {result === 'returned' && (
          <Form.Item name="dueDate" label="整改期限（可选）">
            <DatePicker disabledDate={(d) => d.isBefore(dayjs(), 'day')} />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
