// Work list (unit officers), review queue (reviewers) and “my submissions”: one sortable table of
// the batch's patches with state, receipt (已提交 / 已退回 / 已通过), verdict, pre-judgement and due
// date; reviewers pass or return from here and bulk-pass the submissions they have opened.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import {
  Alert,
  App as AntApp,
  Card,
  DatePicker,
  Form,
  Input,
  Modal,
  Segmented,
  Select,
  Space,
  Switch,
  Table,
  Tooltip,
  Typography,
} from 'antd';
import type { ColumnsType } from 'antd/es/table';
import dayjs from 'dayjs';
import { ApiError, fmtMu, fmtTime, get, post, qs } from '../api.ts';
import { usePolicy, useSession } from '../session.tsx';
import type { WorkItem, WorkList } from '../types.ts';
import {
  ActionButton,
  DueCell,
  PrejudgementTag,
  ReceiptTag,
  StateTag,
  VerdictTag,
  useLabels,
} from '../ui.tsx';
import { SignalQueue, useOpenSignalCount } from './SignalQueue.tsx';

type Mode = 'unit' | 'review' | 'mine';

const TODO = new Set(['issued', 'verifying', 'returned', 'upper_returned']);
const PASSED = new Set(['passed', 'reported', 'upper_passed']);

const TITLES: Record<Mode, string> = { unit: '本单位工作清单', review: '审核队列', mine: '我的提交' };

export function WorkListPage({ mode }: { mode: Mode }) {
  const s = useSession();
  const labels = useLabels();
  const navigate = useNavigate();
  const { message } = AntApp.useApp();
  const [data, setData] = useState<WorkList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tab, setTab] = useState<string>(mode === 'review' ? 'submitted' : mode === 'unit' ? 'todo' : 'all');
  const [q, setQ] = useState('');
  const [unit, setUnit] = useState<string | undefined>();
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [selected, setSelected] = useState<number[]>([]);
  const [returning, setReturning] = useState<WorkItem | null>(null);
  const reviewPolicy = usePolicy('workflow.review');
  const [signalRefresh, setSignalRefresh] = useState(0);
  const openSignals = useOpenSignalCount(mode === 'review' ? s.batch : '', signalRefresh);

  const load = useCallback(async () => {
    if (!s.batch) return;
    setLoading(true);
    setError(null);
    try {
      setData(
        await get<WorkList>(
          `/api/batches/${s.batch}/worklist${qs({ mine: mode === 'mine' ? true : undefined })}`,
        ),
      );
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setLoading(false);
    }
  }, [s.batch, mode]);

  useEffect(() => {
    void load();
    setSelected([]);
  }, [load]);

  const items = useMemo(() => {
    const all = data?.items ?? [];
    return all.filter((i) => {
      if (tab === 'todo' && !TODO.has(i.state)) return false;
      if (tab === 'submitted' && i.state !== 'submitted') return false;
      if (tab === 'returned' && i.receipt !== 'returned') return false;
      if (tab === 'passed' && !PASSED.has(i.state)) return false;
      if (overdueOnly && i.deadlineStatus !== 'overdue') return false;
      if (unit && i.unitCode !== unit) return false;
      if (q && !i.jcbh.includes(q.trim())) return false;
      return true;
    });
  }, [data, tab, overdueOnly, unit, q]);

  const counts = useMemo(() => {
    const all = data?.items ?? [];
    return {
      todo: all.filter((i) => TODO.has(i.state)).length,
      submitted: all.filter((i) => i.state === 'submitted').length,
      returned: all.filter((i) => i.receipt === 'returned').length,
      passed: all.filter((i) => PASSED.has(i.state)).length,
      all: all.length,
      overdue: all.filter((i) => i.deadlineStatus === 'overdue').length,
    };
  }, [data]);

  const units = useMemo(() => {
    const m = new Map<string, string>();
    for (const i of data?.items ?? []) if (i.unitCode) m.set(i.unitCode, i.unitName ?? i.unitCode);
    return [...m].map(([value, label]) => ({ value, label }));
  }, [data]);

  const pass = async (i: WorkItem) => {
    try {
      await post(`/api/patches/${i.id}/pass`, { version: i.version });
      message.success(`${i.jcbh} 已初审通过`);
      await load();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    }
  };

  const bulkPass = async () => {
    const chosen = (data?.items ?? []).filter((i) => selected.includes(i.id));
    try {
      await post(`/api/batches/${s.batch}/bulk-pass`, {
        items: chosen.map((i) => ({ patchId: i.id, version: i.version })),
      });
      message.success(`已批量通过 ${chosen.length} 个图斑`);
      setSelected([]);
      await load();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    }
  };

  const columns: ColumnsType<WorkItem> = [
    {
      title: '监测编号',
      dataIndex: 'jcbh',
      sorter: (a, b) => a.jcbh.localeCompare(b.jcbh),
      render: (v: string, r) => (
        <Link to={`/patches/${r.id}`} data-testid={`open-${v}`}>
          {v}
        </Link>
      ),
    },
    ...(mode !== 'unit'
      ? [
          {
            title: '责任单位',
            dataIndex: 'unitName',
            sorter: (a: WorkItem, b: WorkItem) => (a.unitName ?? '').localeCompare(b.unitName ?? '', 'zh-CN'),
          },
        ]
      : []),
    { title: '来源', dataIndex: 'source', render: (v: string) => labels.source(v) },
    {
      title: '面积',
      dataIndex: 'areaM2',
      align: 'right',
      sorter: (a, b) => a.areaM2 - b.areaM2,
      render: (v: number) => fmtMu(v),
    },
    {
      title: '流程状态',
      dataIndex: 'state',
      sorter: (a, b) => a.state.localeCompare(b.state),
      render: (v: string) => <StateTag state={v} />,
    },
    {
      title: '提交回执',
      dataIndex: 'receipt',
      render: (v: string, r) => (
        <Space size={4} direction="vertical">
          <ReceiptTag receipt={v} />
          {r.state === 'submitted' && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {r.openedByReviewer ? '分局已打开查看' : '分局尚未打开'}
            </Typography.Text>
          )}
        </Space>
      ),
    },
    { title: '判定', dataIndex: 'verdict', render: (v: string) => <VerdictTag verdict={v} /> },
    {
      title: '预判',
      dataIndex: 'prejudgement',
      render: (v: string | null) => <PrejudgementTag value={v} />,
    },
    {
      title: '截止日期',
      dataIndex: 'dueDate',
      sorter: (a, b) => (a.dueDate ?? '9999').localeCompare(b.dueDate ?? '9999'),
      render: (_: unknown, r) => <DueCell date={r.dueDate} status={r.deadlineStatus} days={r.daysOverdue} />,
    },
    {
      title: mode === 'review' ? '提交' : '提交 / 审核',
      dataIndex: 'submittedAt',
      sorter: (a, b) => (a.submittedAt ?? '').localeCompare(b.submittedAt ?? ''),
      render: (_: unknown, r) =>
        r.submittedAt ? (
          <div style={{ fontSize: 12 }}>
            <div>
              {r.submittedBy} 于 {fmtTime(r.submittedAt)} 提交（第 {r.submissionNo} 次）
            </div>
            {r.reviewedAt && (
              <div>
                {r.reviewedBy} 于 {fmtTime(r.reviewedAt)} 审核
              </div>
            )}
          </div>
        ) : (
          '—'
        ),
    },
    {
      title: '退回原因',
      dataIndex: 'returnReason',
      render: (v: string | null, r) =>
        r.receipt === 'returned' && v ? (
          <Tooltip title={`${r.returnedBy ?? ''} ${fmtTime(r.returnedAt)}`}>
            <Typography.Text type="danger" data-testid="return-reason">
              {v}
            </Typography.Text>
          </Tooltip>
        ) : (
          '—'
        ),
    },
  ];
  if (mode === 'review')
    columns.push({
      title: '操作',
      key: 'act',
      render: (_: unknown, r) =>
        r.state === 'submitted' || r.state === 'passed' ? (
          <Space>
            {r.state === 'submitted' && (
              <ActionButton size="small" type="primary" decision={reviewPolicy} onClick={() => void pass(r)}>
                通过
              </ActionButton>
            )}
            <ActionButton size="small" danger decision={reviewPolicy} onClick={() => setReturning(r)}>
              退回
            </ActionButton>
          </Space>
        ) : null,
    });

  const tabs =
    mode === 'review'
      ? [
          { value: 'submitted', label: `待审核（${counts.submitted}）` },
          { value: 'returned', label: `已退回（${counts.returned}）` },
          { value: 'passed', label: `已通过（${counts.passed}）` },
          { value: 'all', label: `全部（${counts.all}）` },
          { value: 'signals', label: `举证疑点（${openSignals ?? '…'}）` },
        ]
      : mode === 'unit'
        ? [
            { value: 'todo', label: `待办（${counts.todo}）` },
            { value: 'submitted', label: `已提交（${counts.submitted}）` },
            { value: 'returned', label: `已退回（${counts.returned}）` },
            { value: 'passed', label: `已通过（${counts.passed}）` },
            { value: 'all', label: `全部（${counts.all}）` },
          ]
        : [
            { value: 'all', label: `全部（${counts.all}）` },
            { value: 'submitted', label: `已提交（${counts.submitted}）` },
            { value: 'returned', label: `已退回（${counts.returned}）` },
            { value: 'passed', label: `已通过（${counts.passed}）` },
          ];

  const openedSelectable = (r: WorkItem) => r.state === 'submitted' && r.openedByMe;

  return (
    <Card
      title={
        <Space>
          <span>{TITLES[mode]}</span>
          {data && <Typography.Text type="secondary">{data.batch.name}</Typography.Text>}
        </Space>
      }
      extra={
        <Space>
          <Typography.Text type="secondary">今天 {data?.today ?? ''}</Typography.Text>
          <a onClick={() => navigate(`/map?batch=${s.batch}`)}>在地图上查看</a>
        </Space>
      }
    >
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      {mode === 'mine' && (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 12 }}
          message="这里列出您提交过的全部图斑及其当前回执：已提交＝分局已收到、待审核；已退回＝请按原因修改后重新提交；已通过＝审核通过。"
        />
      )}
      <Space wrap style={{ marginBottom: 12 }}>
        <Segmented options={tabs} value={tab} onChange={(v) => setTab(String(v))} data-testid="tabs" />
        {tab !== 'signals' && (
          <>
            <Input.Search
              allowClear
              placeholder="按监测编号查找"
              style={{ width: 220 }}
              onSearch={setQ}
              onChange={(e) => !e.target.value && setQ('')}
              data-testid="jcbh-search"
            />
            {mode !== 'unit' && (
              <Select
                allowClear
                placeholder="责任单位"
                style={{ width: 180 }}
                options={units}
                value={unit}
                onChange={setUnit}
              />
            )}
            <Space>
              <Switch checked={overdueOnly} onChange={setOverdueOnly} size="small" />
              <span>只看逾期（{counts.overdue}）</span>
            </Space>
            {mode === 'review' && (
              <ActionButton
                type="primary"
                decision={reviewPolicy}
                disabled={selected.length === 0}
                onClick={() =>
                  Modal.confirm({
                    title: `批量通过 ${selected.length} 个已打开的图斑？`,
                    content: '只能包含您已打开查看过的“已提交”图斑；任何一个不能通过时全部不通过。',
                    okText: '通过',
                    cancelText: '取消',
                    onOk: bulkPass,
                  })
                }
              >
                批量通过已打开的（{selected.length}）
              </ActionButton>
            )}
          </>
        )}
      </Space>
      {tab === 'signals' && <SignalQueue batch={s.batch} onChanged={() => setSignalRefresh((n) => n + 1)} />}
      <Table<WorkItem>
        style={{ display: tab === 'signals' ? 'none' : undefined }}
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={items}
        columns={columns}
        pagination={{ defaultPageSize: 50, showSizeChanger: true, showTotal: (t) => `共 ${t} 个图斑` }}
        rowClassName={(r) => (r.deadlineStatus === 'overdue' ? 'row-overdue' : '')}
        rowSelection={
          mode === 'review'
            ? {
                selectedRowKeys: selected,
                onChange: (keys) => setSelected(keys as number[]),
                getCheckboxProps: (r) => ({
                  disabled: !openedSelectable(r),
                  title: openedSelectable(r) ? '' : '只有您已打开查看过的“已提交”图斑可以批量通过',
                }),
              }
            : undefined
        }
      />
      <ReturnModal
        item={returning}
        onClose={() => setReturning(null)}
        onDone={async () => {
          setReturning(null);
          await load();
        }}
      />
    </Card>
  );
}

/** Return with reason and a new due date (used by the list and the patch page). */
export function ReturnModal({
  item,
  onClose,
  onDone,
}: {
  item: { id: number; jcbh: string; version: number } | null;
  onClose: () => void;
  onDone: () => Promise<void> | void;
}) {
  const [form] = Form.useForm();
  const [error, setError] = useState<string | null>(null);
  const { message } = AntApp.useApp();
  return (
    <Modal
      open={item !== null}
      title={`退回 ${item?.jcbh ?? ''}`}
      okText="退回"
      cancelText="取消"
      okButtonProps={{ danger: true }}
      destroyOnHidden
      onCancel={onClose}
      onOk={async () => {
        const v = await form.validateFields();
        setError(null);
        try {
          await post(`/api/patches/${item!.id}/return`, {
            version: item!.version,
            reason: v.reason,
            dueDate: (v.dueDate as dayjs.Dayjs).format('YYYY-MM-DD'),
          });
          message.success(`${item!.jcbh} 已退回`);
          form.resetFields();
          await onDone();
        } catch (e) {
          setError(e instanceof ApiError ? e.message : String(e));
        }
      }}
    >
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      <Form form={form} layout="vertical" initialValues={{ dueDate: dayjs().add(7, 'day') }}>
        <Form.Item
          name="reason"
          label="退回原因"
          rules={[{ required: true, whitespace: true, message: '请填写退回原因' }]}
        >
          <Input.TextArea rows={3} maxLength={1000} showCount placeholder="写明需要修改或补充的内容" />
        </Form.Item>
        <Form.Item
          name="dueDate"
          label="新的截止日期"
          rules={[{ required: true, message: '请选择截止日期' }]}
        >
          <DatePicker disabledDate={(d) => d.isBefore(dayjs(), 'day')} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
