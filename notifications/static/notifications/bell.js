/*
 * bell.js: the `{% notification_bell %}` widget. The badge and the list follow the pushes on
 * the user's stream: new notifications appear, and a notification read in another tab or
 * marked read in bulk shows as read here too. Clicking an unread one marks it read (POST)
 * before following its link. Needs live.js (window.live) on the page.
 */
(function (root) {
  "use strict";
  var doc = root.document;

  function text(item) {
    return [item.actor, item.verb, item.target].filter(function (part) { return part; }).join(" ");
  }

  function Bell(element) {
    this.element = element;
    this.button = element.querySelector(".notification-bell-button");
    this.badge = element.querySelector(".notification-bell-badge");
    this.panel = element.querySelector(".notification-bell-panel");
    this.list = element.querySelector(".notification-bell-list");
    this.empty = element.querySelector(".notification-bell-empty");
    this.template = element.nextElementSibling;
    this.fetch = parseInt(element.getAttribute("data-fetch"), 10) || 8;
    this.token = (element.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    var self = this;
    this.button.addEventListener("click", function () { self.open(self.panel.hidden); });
    doc.addEventListener("click", function (click) {
      if (!self.panel.hidden && !self.element.contains(click.target)) self.open(false);
    });
    doc.addEventListener("keydown", function (key) {
      if (key.key === "Escape" && !self.panel.hidden) self.open(false);
    });
    this.list.addEventListener("click", function (click) { self.follow(click); });
    var handlers = {
      onEvent: function (event) { self.onEvent(event); },
      onResync: function () { self.reload(); },
    };
    if (element.getAttribute("data-transport")) handlers.transport = element.getAttribute("data-transport");
    root.live.subscribe(element.getAttribute("data-stream"), handlers);
  }

  Bell.prototype.open = function (open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  };

  Bell.prototype.showCount = function (count) {
    this.badge.textContent = count > 99 ? "99+" : String(count);
    this.badge.hidden = count === 0;
    this.button.setAttribute("aria-label", count ? "Notifications (" + count + " unread)" : "Notifications");
  };

  Bell.prototype.item = function (notification) {
    var item = this.template.content.firstElementChild.cloneNode(true);
    var link = item.querySelector("a");
    item.setAttribute("data-notification", String(notification.id));
    item.setAttribute("data-level", notification.level || "info");
    item.classList.toggle("unread", notification.unread !== false);
    link.setAttribute("href", (notification.data && notification.data.url) || "#");
    link.setAttribute("data-mark", this.markUrl(notification.slug));
    item.querySelector(".notification-bell-text").textContent = text(notification);
    var time = item.querySelector(".notification-bell-time");
    time.setAttribute("datetime", notification.timestamp || "");
    time.textContent = "just now";
    return item;
  };

  Bell.prototype.markUrl = function (slug) {
    var form = this.element.querySelector("form");
    return form.getAttribute("action").replace(/mark-all-as-read\/$/, "mark-as-read/" + slug + "/");
  };

  Bell.prototype.find = function (id) {
    return this.list.querySelector('[data-notification="' + String(id) + '"]');
  };

  Bell.prototype.onEvent = function (event) {
    var data = event.data || {};
    if (typeof data.unread_count === "number") this.showCount(data.unread_count);
    var found = data.id !== undefined ? this.find(data.id) : null;
    switch (event.event) {
      case "notification.created":
        if (data.notification && !this.find(data.notification.id)) {
          this.list.insertBefore(this.item(data.notification), this.list.firstChild);
          while (this.list.children.length > this.fetch) this.list.removeChild(this.list.lastChild);
        }
        break;
      case "notification.read":
        if (found) found.classList.remove("unread");
        break;
      case "notification.unread":
        if (found) found.classList.add("unread");
        break;
      case "notification.deleted":
        if (found) found.parentNode.removeChild(found);
        break;
      case "notification.read_all":
      case "notification.unread_all":
      case "notification.deleted_all":
      case "notification.restored_all":
        this.reload();
        break;
    }
    this.empty.hidden = this.list.children.length > 0;
  };

  Bell.prototype.reload = function () {
    var self = this;
    var url = this.element.getAttribute("data-list-url") + "?max=" + this.fetch;
    return root.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        while (self.list.firstChild) self.list.removeChild(self.list.firstChild);
        data.all_list.forEach(function (notification) { self.list.appendChild(self.item(notification)); });
        self.empty.hidden = self.list.children.length > 0;
      });
  };

  Bell.prototype.follow = function (click) {
    var link = click.target.closest("a[data-mark]");
    if (!link) return;
    var item = link.closest(".notification-bell-item");
    var href = link.getAttribute("href");
    if (!item.classList.contains("unread")) {
      if (href === "#") click.preventDefault();
      return;
    }
    click.preventDefault();
    item.classList.remove("unread");
    root.fetch(link.getAttribute("data-mark"), {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": this.token },
    }).then(function () {
      if (href !== "#") root.location.assign(href);
    });
  };

  function start() {
    var bells = doc.querySelectorAll("[data-notification-bell]");
    for (var i = 0; i < bells.length; i++) new Bell(bells[i]);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})(window);
