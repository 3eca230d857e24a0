/*
 * tasks.js: keeps the progress bars ({% task_progress %}) and outputs ({% task_output %}) of a
 * page live with live.task, each from the seq it was rendered at. Load it after live.js
 * ({% task_script %}). Each run's changes are also dispatched on the document:
 *
 *   document.addEventListener("live-task:done", (e) => e.detail);   // {runId, status, data}
 *   // also "live-task:state" ({runId, status, data}), "live-task:resync" ({runId, seq, reason})
 *   // and "live-task:error" ({runId, error})
 *
 * liveTasks.bind(element) binds bars and outputs added to the page later.
 */
(function (root) {
  "use strict";

  var FINISHED = ["succeeded", "failed", "cancelled"];
  var LABELS = {
    queued: "Queued",
    running: "Running",
    cancelling: "Cancelling",
    succeeded: "Succeeded",
    failed: "Failed",
    cancelled: "Cancelled",
  };
  var ELEMENTS = "[data-live-task], [data-live-task-output]";
  var runs = {};

  function percentOf(progress, status) {
    if (progress && typeof progress.fraction === "number") {
      return Math.floor(Math.max(0, Math.min(1, progress.fraction)) * 100);
    }
    return status === "succeeded" ? 100 : null;
  }

  function isFinished(element) {
    return element.hasAttribute("data-finished") || FINISHED.indexOf(element.dataset.status) !== -1;
  }

  function drawBar(bar) {
    var status = bar.dataset.status;
    var progress = bar.liveTaskProgress;
    var percent = percentOf(progress, status);
    var message = (progress && progress.message) || "";
    var meter = bar.querySelector(".live-task-meter");
    var range = bar.querySelector("[role=progressbar]");
    var percentText = percent === null ? "" : percent + "%";
    bar.querySelector(".live-task-status").textContent = LABELS[status] || status;
    bar.querySelector(".live-task-percent").textContent = percentText;
    bar.querySelector(".live-task-message").textContent = message;
    if (percent === null) {
      range.removeAttribute("aria-valuenow");
      if (FINISHED.indexOf(status) !== -1) meter.value = 0;
      else meter.removeAttribute("value");
    } else {
      range.setAttribute("aria-valuenow", String(percent));
      meter.value = percent;
    }
    var text = [percentText, message].filter(Boolean).join(", ");
    range.setAttribute("aria-valuetext", text || LABELS[status] || status);
  }

  /* The progress a bar was rendered with, as events carry it. */
  function renderedProgress(bar) {
    var now = bar.querySelector("[role=progressbar]").getAttribute("aria-valuenow");
    return {
      fraction: now === null ? null : Number(now) / 100,
      message: bar.querySelector(".live-task-message").textContent,
    };
  }

  function appendOutput(output, text) {
    var following = output.scrollHeight - output.scrollTop - output.clientHeight < 8;
    output.append(text);
    if (following) output.scrollTop = output.scrollHeight;
  }

  function emit(type, detail) {
    document.dispatchEvent(new CustomEvent("live-task:" + type, { detail: detail }));
  }

  /* Each element only takes what came after the seq it was rendered at. */
  function newer(element, event) {
    return event.seq === null || event.seq === undefined || event.seq > element.liveTaskSince;
  }

  function watch(runId, run) {
    var since = Math.min.apply(
      null,
      run.elements.map(function (element) {
        return element.liveTaskSince;
      }),
    );
    var each = function (selector, event, apply) {
      run.elements.forEach(function (element) {
        if (element.matches(selector) && newer(element, event)) apply(element);
      });
    };
    run.watch = live.task(runId, {
      since: since,
      onProgress: function (progress, event) {
        each("[data-live-task]", event, function (bar) {
          bar.liveTaskProgress = progress;
          drawBar(bar);
        });
      },
      onOutput: function (text, event) {
        each("[data-live-task-output]", event, function (output) {
          appendOutput(output, text);
        });
      },
      onState: function (status, data, event) {
        each("[data-live-task]", event, function (bar) {
          bar.dataset.status = status;
          drawBar(bar);
        });
        emit("state", { runId: runId, status: status, data: data });
      },
      onDone: function (status, data) {
        run.elements.forEach(function (element) {
          if (element.matches("[data-live-task-output]")) element.setAttribute("data-finished", "");
        });
        emit("done", { runId: runId, status: status, data: data });
      },
      onResync: function (info) {
        run.elements.forEach(function (element) {
          element.liveTaskSince = info.seq;
          if (element.matches("[data-live-task-output]")) element.setAttribute("data-incomplete", "");
        });
        emit("resync", { runId: runId, seq: info.seq, reason: info.reason });
      },
      onError: function (error) {
        emit("error", { runId: runId, error: error });
      },
    });
  }

  function bind(scope) {
    var added = {};
    (scope || document).querySelectorAll(ELEMENTS).forEach(function (element) {
      if (element.liveTaskSince !== undefined) return;
      element.liveTaskSince = Number(element.dataset.since) || 0;
      if (element.matches("[data-live-task]")) element.liveTaskProgress = renderedProgress(element);
      if (isFinished(element)) return;
      if (element.matches("[data-live-task-output]")) element.scrollTop = element.scrollHeight;
      var runId = element.dataset.liveTask || element.dataset.liveTaskOutput;
      var run = (runs[runId] = runs[runId] || { elements: [], watch: null });
      run.elements.push(element);
      added[runId] = run;
    });
    Object.keys(added).forEach(function (runId) {
      if (!added[runId].watch) watch(runId, added[runId]);
    });
  }

  root.liveTasks = { bind: bind, runs: runs };
  if (!root.live) return;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      bind();
    });
  } else {
    bind();
  }
})(window);
