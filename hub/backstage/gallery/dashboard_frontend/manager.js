// The dashboard's widget manager: ipywidgets 8 models and views, talking to the page's kernel.
//
// Modelled on @jupyter-widgets/html-manager (the manager behind embedded widgets) with comms wired
// to a live kernel, as in Voilà and @jupyter-widgets/jupyterlab-manager; ipywidgets 7 (protocol 1.x)
// is not supported, and custom widget libraries are not loaded (nothing is fetched from a CDN).
import * as base from '@jupyter-widgets/base';
import { ManagerBase } from '@jupyter-widgets/base-manager';
import * as controls from '@jupyter-widgets/controls';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { Comm } from './kernel';

export class DashboardManager extends ManagerBase {
  constructor(kernel) {
    super();
    this.kernel = kernel;
    this.renderMime = null; // set by ./output when a dashboard first uses an Output widget
    this._views = new Set();
    kernel.onCommOpen = (comm, msg) => {
      if (msg.content.target_name === this.comm_target_name) {
        this.handle_comm_open(comm, msg);
      }
    };
    window.addEventListener('resize', () => {
      this._views.forEach((view) => MessageLoop.postMessage(view.luminoWidget, Widget.ResizeMessage.UnknownSize));
    });
  }

  async display_view(viewPromise, el) {
    let view;
    try {
      view = await viewPromise;
    } catch (error) {
      const ErrorModel = base.createErrorWidgetModel(error, 'Could not create a view for this widget');
      view = new base.ErrorWidgetView({ model: new ErrorModel() });
      view.render();
    }
    Widget.attach(view.luminoWidget, el);
    this._views.add(view);
    view.once('remove', () => this._views.delete(view));
    return view;
  }

  async loadClass(className, moduleName, moduleVersion) {
    const modules = { '@jupyter-widgets/base': base, '@jupyter-widgets/controls': controls };
    let module = modules[moduleName];
    if (moduleName === '@jupyter-widgets/output') {
      // Loaded on first use: the Output widget brings JupyterLab's output rendering (half the code).
      module = await import('./output');
      module.install(this);
    }
    if (module && module[className]) {
      return module[className];
    }
    throw new Error(`${moduleName}@${moduleVersion} ${className} is not available in gallery `
      + 'dashboards (only the ipywidgets 8 controls and outputs are)');
  }

  async _create_comm(targetName, modelId, data, metadata, buffers) {
    const early = this.kernel.takeEarlyControl(targetName);
    if (early) {
      return early; // opened, and its states requested, by the page before this code loaded
    }
    const comm = new Comm(this.kernel, modelId, targetName);
    this.kernel.comms.set(modelId, comm);
    if (data || metadata) {
      comm.open(data, {}, metadata, buffers);
    }
    return comm;
  }

  async _get_comm_info() {
    const reply = await this.kernel.request('comm_info_request', { target_name: this.comm_target_name });
    const comms = {};
    for (const [id, info] of Object.entries(reply.content.comms || {})) {
      comms[id] = info.target_name;
    }
    return comms;
  }

  loadFromKernel() {
    return this._loadFromKernel();
  }
}
