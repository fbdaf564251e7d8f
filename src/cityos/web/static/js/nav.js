// Phones: the header shows the brand and a menu button; the button folds the nav and the user box
// open and shut. Desktops never show the button (CSS), so the menu is always open there.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector(".navtoggle");
  const header = button && button.closest(".topbar");
  if (!header) return;
  button.addEventListener("click", () => {
    const open = header.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});

// The loops' menus in the bar: one open at a time, and a click elsewhere closes it.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.navgroup[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
