import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { ApiError, post } from '../api.ts';

export function PasswordPage({ forced, onDone }: { forced?: boolean; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  return (
    <div style={{ display: 'flex', justifyContent: 'center', padding: 48 }}>
      <Card style={{ width: 420 }}>
        <Typography.Title level={4}>修改密码</Typography.Title>
        {forced && (
          <Alert
            type="warning"
            showIcon
            message="您正在使用一次性密码，请先设置自己的密码。"
            style={{ marginBottom: 16 }}
          />
        )}
        {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
        {done && <Alert type="success" showIcon message="密码已修改。" style={{ marginBottom: 16 }} />}
        <Form
          layout="vertical"
          onFinish={async (v: { currentPassword: string; newPassword: string }) => {
            setError(null);
            try {
              await post('/api/auth/password', v);
              setDone(true);
              onDone();
            } catch (e) {
              setError(e instanceof ApiError ? e.message : '修改失败');
            }
          }}
        >
          <Form.Item
            name="currentPassword"
            label="当前密码"
            rules={[{ required: true, message: '请输入当前密码' }]}
          >
            <Input.Password />
          </Form.Item>
          <Form.Item
            name="newPassword"
            label="新密码"
            extra="至少 10 个字符，不能全是同一类字符，不能与用户名相同。"
            rules={[
              { required: true, message: '请输入新密码' },
              { min: 10, message: '至少 10 个字符' },
            ]}
          >
            <Input.Password />
          </Form.Item>
          <Button type="primary" htmlType="submit">
            保存
          </Button>
        </Form>
      </Card>
    </div>
  );
}
