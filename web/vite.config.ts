// Vite build of the web workspace: `vite build web` writes web/dist, served by the API server at /.
// OpenLayers and ECharts stay in the chunks of the pages that use them (lazy routes). React has a
// chunk of its own; Ant Design is not forced into one chunk, so that each page loads the components
// it uses (the map does not load the tables and forms of the work lists and the patch page).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (
            id.includes('node_modules/ol/') ||
            id.includes('node_modules/rbush') ||
            id.includes('node_modules/pbf')
          )
            return 'ol';
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (/node_modules\/(react|react-dom|scheduler|react-router|react-router-dom)\//.test(id))
            return 'react';
          return undefined;
        },
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
