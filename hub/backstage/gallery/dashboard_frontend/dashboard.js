// Gallery dashboards' front end: the page arrives with its outputs already rendered (server side, from
// the preheated kernel); this script connects to that kernel and brings the widgets to life.
//
// It replaces Voilà's JupyterLab-based front end for published dashboards: ~0.8 MB of script in two
// files (plus ~0.3 MB loaded only by dashboards with an Output widget) instead of ~90 files and ~4 MB,
// which matters because a dashboard runs in a CSP sandbox (an opaque origin), where the browser cannot
// cache anything from one view to the next. Built by `make` with esbuild (ES modules, code splitting).
import '@jupyter-widgets/controls/css/widgets-base.css';
import '@jupyter-widgets/html-manager/css/output.css';
import '@jupyter-widgets/controls/css/labvariables.css';
import '@lumino/widgets/style/index.css';

import { KernelClient } from './kernel';
import { DashboardManager } from './manager';

const VIEW_MIMETYPE = 'application/vnd.jupyter.widget-view+json';

function pageConfig() {
  const el = document.getElementById('jupyter-config-data');
  return JSON.parse(el ? el.textContent : '{}');
}

function kernelUrl(config) {
  const url = new URL(`${config.baseUrl}api/kernels/${encodeURIComponent(config.kernelId)}/channels`,
    window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function status(text) {
  const el = document.getElementById('backstage-dashboard-status');
  if (el) {
    el.textContent = text;
    el.hidden = !text;
  }
}

async function renderSlot(manager, slot) {
  const source = slot.querySelector(`script[type="${VIEW_MIMETYPE}"]`);
  const { model_id: modelId } = JSON.parse(source.textContent);
  if (!manager.has_model(modelId)) {
    slot.textContent = 'This widget is no longer in the kernel.';
    return;
  }
  const model = await manager.get_model(modelId);
  await manager.display_view(manager.create_view(model), slot);
}

// Marks for the benchmark and for anyone asking "why is this dashboard slow": see the browser's
// performance timeline (backstage:script, :connected, :states, :rendered).
const mark = (name) => performance.mark(`backstage:${name}`);

async function main() {
  mark('script');
  const config = pageConfig();
  if (!config.kernelId) {
    return;
  }
  let kernel = new KernelClient(kernelUrl(config));
  const early = window.backstageEarlyKernel;
  let connection = early ? 'early' : 'late';
  try {
    await (early ? kernel.adopt(early) : kernel.connect());
  } catch (error) {
    if (!early) {
      throw error;
    }
    kernel = new KernelClient(kernelUrl(config)); // the early connection failed: try once more, afresh
    await kernel.connect();
    connection = 'late';
  }
  document.body.dataset.kernelConnection = connection; // tests check the early path is the one taken
  kernel.onClose = () => status('This dashboard lost its connection: reload the page to use the controls again.');
  mark('connected');
  const manager = new DashboardManager(kernel);
  await manager.loadFromKernel();
  mark('states');
  await Promise.all(Array.from(document.querySelectorAll('.backstage-widget-slot'), (slot) => renderSlot(manager, slot)
    .catch((error) => {
      slot.textContent = `This widget could not be shown: ${error.message || error}`;
    })));
  window.addEventListener('beforeunload', () => {
    // As Voilà's own front end does: the kernel is shut down when the page goes away.
    navigator.sendBeacon(`${config.baseUrl}voila/api/shutdown/${encodeURIComponent(config.kernelId)}`);
  });
  mark('rendered');
  document.body.dataset.dashboardReady = 'true';
}

main().catch((error) => status(`This dashboard could not start: ${error.message || error}`));
