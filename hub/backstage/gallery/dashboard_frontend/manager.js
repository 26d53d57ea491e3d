// The dashboard's widget managers: ipywidgets 8 models and views, drawn from the page's saved state
// (./static) or talking to a live kernel (DashboardManager).
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

/** What both managers share: the widget classes a gallery dashboard may use, and drawing views into slots. */
export class PageManager extends ManagerBase {
  constructor() {
    super();
    this.kernel = null;
    this.renderMime = null; // set by ./output when a dashboard first uses an Output widget
    this._views = new Set();
    this._resize = () => {
      this._views.forEach((view) => MessageLoop.postMessage(view.luminoWidget, Widget.ResizeMessage.UnknownSize));
    };
    window.addEventListener('resize', this._resize);
  }

  /** A view of *model*, rendered but not yet on the page (an error view if it cannot be made). */
  async make_view(model) {
    try {
      return await this.create_view(model);
    } catch (error) {
      const ErrorModel = base.createErrorWidgetModel(error, 'Could not create a view for this widget');
      const view = new base.ErrorWidgetView({ model: new ErrorModel() });
      view.render();
      return view;
    }
  }

  /** Put a rendered view into the page, inside *el*. */
  attach_view(view, el) {
    Widget.attach(view.luminoWidget, el);
    this._views.add(view);
    view.once('remove', () => this._views.delete(view));
    return view;
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
    return this.attach_view(view, el);
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

  /** Every model this manager holds, once created. */
  async all_models() {
    return Promise.all(Object.values(this._models));
  }

  /** Stop following the window's size (the manager's views have left the page). */
  forget_views() {
    window.removeEventListener('resize', this._resize);
    this._views.clear();
  }
}

/** The manager of a live kernel's widgets. */
export class DashboardManager extends PageManager {
  constructor(kernel) {
    super();
    this.kernel = kernel;
    kernel.onCommOpen = (comm, msg) => {
      if (msg.content.target_name === this.comm_target_name) {
        this.handle_comm_open(comm, msg);
      }
    };
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
