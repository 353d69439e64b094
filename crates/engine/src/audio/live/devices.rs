//! Finding capture devices: the microphone (rep) and the system output's loopback
//! (prospect), by the ids `cuecard devices` prints or by the system defaults.

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{Device, DeviceId, Host, HostId};
use serde::Serialize;
use std::sync::{Arc, Mutex};

use super::super::AudioError;

/// One device as `cuecard devices` (and the app's device picker) shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// Pass this to `--mic` or `--loopback` (`host:device`).
    pub id: String,
    pub name: String,
    /// "input" or "output".
    pub direction: &'static str,
    pub is_default: bool,
    /// For an output: the id that captures what it plays (its loopback), when there is one.
    pub loopback_id: Option<String>,
    /// For an input: it is another device's loopback (a PulseAudio monitor), not a microphone.
    pub is_monitor: bool,
}

/// Which side of the call a device is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The rep's microphone.
    Mic,
    /// What the rep hears: the prospect.
    Loopback,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Mic => "microphone",
            Side::Loopback => "call audio (loopback)",
        }
    }
}

/// A device ready to capture, and how to describe it.
pub struct Resolved {
    pub device: Device,
    pub id: String,
    pub name: String,
}

fn id_string(d: &Device) -> String {
    d.id().map(|i| i.to_string()).unwrap_or_else(|_| "unknown".into())
}

fn name_of(d: &Device) -> String {
    d.description().map(|x| x.name().to_owned()).unwrap_or_else(|_| id_string(d))
}

/// PulseAudio (also PipeWire's pulse server) names a sink's loopback `<sink>.monitor`.
fn is_pulse(host: &Host) -> bool {
    is_pulse_id(host.id())
}

fn is_pulse_id(id: HostId) -> bool {
    id.name().eq_ignore_ascii_case("pulseaudio")
}

fn monitor_of(host: &Host, sink: &Device) -> Option<Device> {
    let id = sink.id().ok()?;
    let monitor = DeviceId::new(id.host(), format!("{}.monitor", id.id()));
    host.device_by_id(&monitor)
}

/// What a host connection is for. Each capture side gets its own, as one stream per
/// connection had before: a single PulseAudio connection carrying both record streams
/// and the device checks lost audio under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Listing,
    Capture(Side),
}

/// Hosts made so far, one per audio system and use for the whole process. Making cpal's
/// PulseAudio host opens a server connection (with its own thread) that is not closed
/// when the host is dropped: one per presence check or device listing piled up until
/// the server refused new clients (64 by default) a few minutes into a live call.
static HOSTS: Mutex<Vec<(HostId, Use, Arc<Host>)>> = Mutex::new(Vec::new());

fn shared_host(id: HostId, usage: Use) -> Result<Arc<Host>, cpal::Error> {
    let mut hosts = HOSTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, host)) = hosts.iter().find(|(i, u, _)| *i == id && *u == usage) {
        return Ok(host.clone());
    }
    let host = Arc::new(cpal::host_from_id(id)?);
    hosts.push((id, usage, host.clone()));
    Ok(host)
}

/// Drops the hosts of an audio system whose connection failed (the sound server
/// restarted): the next use connects again.
fn forget_host(id: HostId) {
    HOSTS.lock().unwrap_or_else(|p| p.into_inner()).retain(|(i, _, _)| *i != id);
}

/// cpal's default host (PulseAudio when its server runs, else the platform's own), shared.
fn default_host(usage: Use) -> Result<Arc<Host>, AudioError> {
    let hosts = cpal::available_hosts();
    let id = hosts.iter().find(|h| is_pulse_id(**h)).or(hosts.first()).copied();
    let unavailable = |reason: String| AudioError::Device { device: "default audio system".into(), reason };
    let id = id.ok_or_else(|| unavailable("no audio system is available".into()))?;
    shared_host(id, usage).map_err(|e| unavailable(e.to_string()))
}

/// Every input and output of every available host, defaults first.
pub fn list_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    let mut out = Vec::new();
    for host_id in cpal::available_hosts() {
        let Ok(host) = shared_host(host_id, Use::Listing) else { continue };
        let default_in = host.default_input_device().map(|d| id_string(&d));
        let default_out = host.default_output_device().map(|d| id_string(&d));
        let devices = host.devices().map_err(|e| {
            forget_host(host_id);
            AudioError::Device { device: host_id.name().into(), reason: e.to_string() }
        })?;
        for d in devices {
            let id = id_string(&d);
            if d.supports_input() {
                out.push(DeviceInfo {
                    id: id.clone(),
                    name: name_of(&d),
                    direction: "input",
                    is_default: default_in.as_deref() == Some(id.as_str()),
                    loopback_id: None,
                    is_monitor: is_pulse(&host) && id.ends_with(".monitor"),
                });
            }
            if d.supports_output() {
                let loopback_id = if is_pulse(&host) {
                    monitor_of(&host, &d).map(|m| id_string(&m))
                } else if cfg!(any(target_os = "windows", target_os = "macos")) {
                    // WASAPI and CoreAudio capture an output device's mix when it is opened as an input.
                    Some(id.clone())
                } else {
                    None
                };
                out.push(DeviceInfo {
                    id: id.clone(),
                    name: name_of(&d),
                    direction: "output",
                    is_default: default_out.as_deref() == Some(id.as_str()),
                    loopback_id,
                    is_monitor: false,
                });
            }
        }
    }
    out.sort_by_key(|d| (d.direction, !d.is_default));
    Ok(out)
}

fn parse_id(text: &str) -> Result<DeviceId, AudioError> {
    text.parse::<DeviceId>().map_err(|_| AudioError::NoDevice {
        device: text.into(),
        hint: "device ids look like `pulseaudio:alsa_input.usb-mic` or `alsa:default`; run `cuecard devices`".into(),
    })
}

fn host_for(id: &DeviceId, side: Side) -> Result<Arc<Host>, AudioError> {
    shared_host(id.host(), Use::Capture(side))
        .map_err(|e| AudioError::Device { device: id.to_string(), reason: format!("audio system unavailable: {e}") })
}

/// The device to open for `side`: the one asked for, or the system default.
pub fn resolve(side: Side, wanted: Option<&str>) -> Result<Resolved, AudioError> {
    let found = match wanted {
        Some(text) => {
            let id = parse_id(text)?;
            let host = host_for(&id, side)?;
            let device = host.device_by_id(&id).ok_or_else(|| AudioError::NoDevice {
                device: text.into(),
                hint: "it is not connected (any more); run `cuecard devices` for the current list".into(),
            })?;
            match side {
                // Asked for an output as the loopback: capture what it plays.
                Side::Loopback if !device.supports_input() && is_pulse(&host) => monitor_of(&host, &device)
                    .ok_or_else(|| AudioError::NoDevice {
                        device: text.into(),
                        hint: "this output has no monitor source to capture".into(),
                    })?,
                _ => device,
            }
        }
        None => default_device(side)?,
    };
    Ok(Resolved { id: id_string(&found), name: name_of(&found), device: found })
}

fn default_device(side: Side) -> Result<Device, AudioError> {
    let host = default_host(Use::Capture(side))?;
    let missing = |hint: &str| AudioError::NoDevice { device: format!("default {}", side.label()), hint: hint.into() };
    match side {
        Side::Mic => host
            .default_input_device()
            .ok_or_else(|| missing("connect a microphone or pass --mic ID (see `cuecard devices`)")),
        Side::Loopback => {
            let output = host.default_output_device();
            if is_pulse(&host) {
                output.as_ref().and_then(|o| monitor_of(&host, o)).ok_or_else(|| {
                    missing("the default output has no monitor source; pass --loopback ID (see `cuecard devices`)")
                })
            } else if cfg!(any(target_os = "windows", target_os = "macos")) {
                output.ok_or_else(|| missing("no output device; pass --loopback ID (see `cuecard devices`)"))
            } else {
                Err(missing(
                    "capturing the call's audio needs PulseAudio or PipeWire (its pulse server) on Linux; \
                     start one, or pass --loopback with a capture device such as an ALSA loopback",
                ))
            }
        }
    }
}

/// Whether the device with this id still exists, where that is cheap to ask
/// (PulseAudio). PulseAudio quietly moves a stream whose device went away to another
/// one, so a lost headset has to be noticed by looking. `None`: cannot tell cheaply.
pub fn still_present(id: &str) -> Option<bool> {
    let id: DeviceId = id.parse().ok()?;
    if !is_pulse_id(id.host()) {
        return None;
    }
    let host = shared_host(id.host(), Use::Listing).ok()?;
    match host.devices() {
        Ok(mut devices) => Some(devices.any(|d| d.id().is_ok_and(|d| d == id))),
        Err(e) => {
            tracing::debug!("listing PulseAudio devices: {e}");
            forget_host(id.host());
            None
        }
    }
}
