//! The tray icon: Show / Pause all / Resume all / Quit, a left click shows the window, and the tooltip
//! carries total progress.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;

use crate::events::{QueuePausedAll, QueueResumedAll};
use crate::progress::Totals;
use crate::state::AppState;

/// The tray icon's id.
pub(crate) const TRAY_ID: &str = "main";

/// Builds the tray icon.
pub(crate) fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<TrayIcon<R>> {
    let show = MenuItem::with_id(app, "show", "Show PanDrop", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause_all", "Pause all", true, None::<&str>)?;
    let resume = MenuItem::with_id(app, "resume_all", "Resume all", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&show, &pause, &resume, &separator, &quit])?;
    let icon = tauri::image::Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip("PanDrop")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => crate::show_main_window(app),
            "pause_all" => {
                app.state::<AppState>().queue.pause_all();
                log_emit(QueuePausedAll.emit(app));
            }
            "resume_all" => {
                app.state::<AppState>().queue.resume_all();
                log_emit(QueueResumedAll.emit(app));
            }
            "quit" => crate::quit(app),
            other => tracing::debug!(item = other, "unknown tray menu item"),
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::show_main_window(tray.app_handle());
            }
        })
        .build(app)
}

/// Puts the total progress in the tooltip ("PanDrop · 2 uploading · 41%").
pub(crate) fn show_totals<R: Runtime>(app: &AppHandle<R>, totals: Totals) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    let text = if totals.running == 0 {
        "PanDrop".to_owned()
    } else {
        let percent = (totals.done.saturating_mul(100)).checked_div(totals.total).unwrap_or(0);
        format!("PanDrop · {} running · {percent}%", totals.running)
    };
    if let Err(e) = tray.set_tooltip(Some(text)) {
        tracing::debug!(error = %e, "cannot update the tray tooltip");
    }
}

fn log_emit(result: tauri::Result<()>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot tell the window");
    }
}
