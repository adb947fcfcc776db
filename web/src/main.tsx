// The app's entry. Ant Design runs in zero-runtime mode: its component styles come from the
// prebuilt antd.css (a hashed asset the browser keeps) instead of being generated in the browser on
// every page load, which took a good part of the main thread before the map could draw. The theme
// tokens still apply, as CSS variables.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App as AntApp, ConfigProvider } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import 'antd/dist/antd.css';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { App } from './App.tsx';

dayjs.locale('zh-cn');

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ConfigProvider
      locale={zhCN}
      theme={{ zeroRuntime: true, token: { colorPrimary: '#1d5fa8', borderRadius: 4 } }}
    >
      <AntApp>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </AntApp>
    </ConfigProvider>
  </StrictMode>,
);
