// SPDX-License-Identifier: GPL-2.0
/*
 * usbredir_vhci: a virtual USB 2.0 host controller whose devices live in
 * user space. Each open file of /dev/vhci-ctrl owns one controller; the ABI
 * is described in uapi/usbredir_vhci.h.
 *
 * Design rules:
 *  - the root hub is emulated here, never waiting on user space;
 *  - every URB is given back exactly once, outside ctrl->lock, after
 *    usb_hcd_unlink_urb_from_ep() under it;
 *  - the kernel can always finish a URB on its own: a dequeue gives it back
 *    at once (user space is told afterwards), closing the file gives back
 *    everything, so usb_kill_urb() never waits on a daemon;
 *  - URB ids are per-controller counters, never kernel addresses;
 *  - nothing user-sized is allocated beyond a bounded ISO result array;
 *    URB data is copied straight between the URB's buffer and user memory
 *    while the URB is pinned by a "busy" mark instead of the spinlock.
 */

#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/idr.h>
#include <linux/jiffies.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/usb.h>
#include <linux/usb/ch11.h>
#include <linux/usb/hcd.h>
#include <asm/unaligned.h>

#include "uapi/usbredir_vhci.h"

#define DRIVER_NAME	"usbredir_vhci"
#define DRIVER_DESC	"UsbRedir virtual host controller"

#define RESET_TIME_MS	50	/* root-port reset, as dummy_hcd/vhci_hcd */
#define RESUME_TIME_MS	20
#define MAX_PORT_EVENTS	256	/* queued port notices per controller */

static unsigned int max_inflight = 1024;
module_param(max_inflight, uint, 0444);
MODULE_PARM_DESC(max_inflight, "URBs held per controller (queued, submitted or awaiting an unlink notice)");

static unsigned int max_transfer = 4 << 20;
module_param(max_transfer, uint, 0444);
MODULE_PARM_DESC(max_transfer, "Largest URB transfer length accepted");

static unsigned int max_iso_packets = 1024;
module_param(max_iso_packets, uint, 0444);
MODULE_PARM_DESC(max_iso_packets, "Largest ISO packet count per URB");

static DEFINE_IDA(vhci_ida);

enum ev_kind { EV_SUBMIT, EV_UNLINK, EV_PORT };

/* An entry of a controller's event queue (what read() hands out next). */
struct vhci_event {
	struct list_head node;
	enum ev_kind kind;
};

enum urb_state {
	URB_QUEUED,	/* on the event queue, user space has not seen it */
	URB_SUBMITTED,	/* user space holds it, a COMPLETE is expected */
	URB_UNLINKED,	/* given back; an UNLINK notice is queued */
};

struct vhci_urbp {
	struct vhci_event ev;
	struct hlist_node hnode;	/* ctrl->urbs, while urb != NULL */
	u64 id;
	struct urb *urb;		/* NULL once given back */
	u8 port;
	enum urb_state state;
	/*
	 * Set while read() or write() copies the URB's buffer without the
	 * lock. A dequeue then only records unlink_pending; the copier gives
	 * the URB back when it is done.
	 */
	bool busy;
	bool unlink_pending;
	int unlink_status;
};

struct vhci_port_event {
	struct vhci_event ev;
	u16 port, event, status, change;
};

struct vhci_port {
	u32 status;		/* low: wPortStatus, high: wPortChange */
	u8 speed;		/* plugged-in device's speed, 0 = none */
	bool resetting, resuming;
	unsigned long done_at;	/* jiffies when the reset/resume ends */
};

/*
 * A controller lives in its HCD's hcd_priv, so it stays valid for as long
 * as usbcore holds a reference to the HCD (usbcore may still call
 * hub_control on a removed HCD; HCD_HW_ACCESSIBLE then turns it away).
 */
struct vhci_ctrl {
	spinlock_t lock;		/* everything below but the mutex */
	struct mutex read_mutex;	/* one reader at a time keeps order */
	wait_queue_head_t waitq;

	bool alive;			/* new URBs accepted */
	bool rh_suspended;
	struct platform_device *pdev;
	struct usb_hcd *hcd;
	int pdev_id;

	u8 nports;
	struct vhci_port ports[USBREDIR_VHCI_MAX_PORTS];

	struct list_head events;
	DECLARE_HASHTABLE(urbs, 8);
	u64 next_id;
	unsigned int nurbs;		/* urbps alive (bounded by max_inflight) */
	unsigned int nport_events;
	unsigned long dropped_port_events;
};

/* The state of one open /dev/vhci-ctrl. */
struct vhci_file {
	struct mutex create_mutex;
	struct vhci_ctrl *c;		/* set once by CREATE; holds an HCD ref */
};

static inline struct vhci_ctrl *hcd_to_ctrl(struct usb_hcd *hcd)
{
	return (struct vhci_ctrl *)hcd->hcd_priv;
}

/* Completions run with local IRQs off, as usbcore's own root-hub path. */
static void vhci_giveback(struct usb_hcd *hcd, struct urb *urb, int status)
{
	unsigned long flags;

	local_irq_save(flags);
	usb_hcd_giveback_urb(hcd, urb, status);
	local_irq_restore(flags);
}

static struct vhci_urbp *find_urbp(struct vhci_ctrl *c, u64 id)
{
	struct vhci_urbp *u;

	hash_for_each_possible(c->urbs, u, hnode, id)
		if (u->id == id)
			return u;
	return NULL;
}

/*
 * Detaches an urbp's URB, under the lock: unlinks it from its endpoint and
 * from the id table and returns it for giveback outside the lock. The urbp
 * is the caller's to free or to queue as an UNLINK notice.
 */
static struct urb *urbp_detach(struct vhci_ctrl *c, struct vhci_urbp *u)
{
	struct urb *urb = u->urb;

	usb_hcd_unlink_urb_from_ep(c->hcd, urb);
	urb->hcpriv = NULL;
	hash_del(&u->hnode);
	u->urb = NULL;
	return urb;
}

/*
 * The URB of a SUBMITTED urbp was cancelled: detach it, queue the UNLINK
 * notice and return the URB for giveback outside the lock.
 */
static struct urb *urbp_cancel_submitted(struct vhci_ctrl *c,
					 struct vhci_urbp *u, int status)
{
	struct urb *urb = urbp_detach(c, u);

	u->state = URB_UNLINKED;
	u->ev.kind = EV_UNLINK;
	u->unlink_status = status;
	list_add_tail(&u->ev.node, &c->events);
	return urb;
}

/*
 * A URB user space never saw, or one it has answered: detach it and free
 * its urbp; returns the URB for giveback outside the lock.
 */
static struct urb *urbp_finish(struct vhci_ctrl *c, struct vhci_urbp *u)
{
	struct urb *urb = urbp_detach(c, u);

	c->nurbs--;
	kfree(u);
	return urb;
}

/* ------------------------------------------------------------------------ */
/* Root hub */

static u16 speed_bits(u8 speed)
{
	switch (speed) {
	case USB_SPEED_LOW:
		return USB_PORT_STAT_LOW_SPEED;
	case USB_SPEED_HIGH:
		return USB_PORT_STAT_HIGH_SPEED;
	default:
		return 0;
	}
}

static bool queue_port_event(struct vhci_ctrl *c, int portnum, u16 event)
{
	struct vhci_port_event *pe;
	struct vhci_port *p = &c->ports[portnum - 1];

	if (!c->alive)		/* nobody will read it */
		return false;
	if (c->nport_events >= MAX_PORT_EVENTS) {
		c->dropped_port_events++;
		return false;
	}
	pe = kzalloc(sizeof(*pe), GFP_ATOMIC);
	if (!pe) {
		c->dropped_port_events++;
		return false;
	}
	pe->ev.kind = EV_PORT;
	pe->port = portnum;
	pe->event = event;
	pe->status = p->status & 0xffff;
	pe->change = p->status >> 16;
	list_add_tail(&pe->ev.node, &c->events);
	c->nport_events++;
	return true;
}

/* Show a plugged-in device once the port has power. */
static void port_show_connection(struct vhci_port *p)
{
	if (p->speed && (p->status & USB_PORT_STAT_POWER) &&
	    !(p->status & USB_PORT_STAT_CONNECTION)) {
		p->status |= USB_PORT_STAT_CONNECTION | speed_bits(p->speed);
		p->status |= USB_PORT_STAT_C_CONNECTION << 16;
	}
}

static void port_unplug(struct vhci_port *p)
{
	p->speed = 0;
	p->resetting = false;
	p->resuming = false;
	if (p->status & USB_PORT_STAT_CONNECTION) {
		p->status &= ~(USB_PORT_STAT_CONNECTION | USB_PORT_STAT_ENABLE |
			       USB_PORT_STAT_SUSPEND | USB_PORT_STAT_RESET |
			       USB_PORT_STAT_LOW_SPEED | USB_PORT_STAT_HIGH_SPEED);
		p->status |= USB_PORT_STAT_C_CONNECTION << 16;
	}
}

/* Reset and resume finish lazily when the hub looks, as in dummy_hcd. */
static void port_finish_timers(struct vhci_port *p)
{
	if (p->resetting && time_after_eq(jiffies, p->done_at)) {
		p->resetting = false;
		p->status &= ~USB_PORT_STAT_RESET;
		p->status |= USB_PORT_STAT_C_RESET << 16;
		if (p->status & USB_PORT_STAT_CONNECTION)
			p->status |= USB_PORT_STAT_ENABLE | speed_bits(p->speed);
	}
	if (p->resuming && time_after_eq(jiffies, p->done_at)) {
		p->resuming = false;
		p->status &= ~USB_PORT_STAT_SUSPEND;
		p->status |= USB_PORT_STAT_C_SUSPEND << 16;
	}
}

static int vhci_hub_status_data(struct usb_hcd *hcd, char *buf)
{
	struct vhci_ctrl *c = hcd_to_ctrl(hcd);
	int len = DIV_ROUND_UP(c->nports + 1, 8);
	unsigned long flags;
	bool changed = false;
	int i;

	memset(buf, 0, len);
	if (!HCD_HW_ACCESSIBLE(hcd))
		return 0;

	spin_lock_irqsave(&c->lock, flags);
	for (i = 0; i < c->nports; i++) {
		port_finish_timers(&c->ports[i]);
		if (c->ports[i].status >> 16) {
			buf[(i + 1) / 8] |= 1 << ((i + 1) % 8);
			changed = true;
		}
	}
	if (changed && c->rh_suspended)
		usb_hcd_resume_root_hub(hcd);
	spin_unlock_irqrestore(&c->lock, flags);
	return changed ? len : 0;
}

static void hub_descriptor(struct vhci_ctrl *c, struct usb_hub_descriptor *desc)
{
	int width = c->nports / 8 + 1;
	u8 *bitmaps = (u8 *)desc + USB_DT_HUB_NONVAR_SIZE;

	memset(desc, 0, sizeof(*desc));
	desc->bDescriptorType = USB_DT_HUB;
	desc->bDescLength = USB_DT_HUB_NONVAR_SIZE + 2 * width;
	desc->bNbrPorts = c->nports;
	desc->wHubCharacteristics =
		cpu_to_le16(HUB_CHAR_INDV_PORT_LPSM | HUB_CHAR_NO_OCPM);
	/* DeviceRemovable: all removable; then PortPwrCtrlMask: all ones. */
	memset(bitmaps, 0, width);
	memset(bitmaps + width, 0xff, width);
}

static int vhci_hub_control(struct usb_hcd *hcd, u16 typeReq, u16 wValue,
			    u16 wIndex, char *buf, u16 wLength)
{
	struct vhci_ctrl *c = hcd_to_ctrl(hcd);
	struct vhci_port *p = NULL;
	unsigned long flags;
	bool wake = false;
	bool poll = false;
	int rc = 0;

	if (!HCD_HW_ACCESSIBLE(hcd))
		return -ETIMEDOUT;

	spin_lock_irqsave(&c->lock, flags);

	if (typeReq == GetPortStatus || typeReq == SetPortFeature ||
	    typeReq == ClearPortFeature) {
		if (wIndex < 1 || wIndex > c->nports) {
			rc = -EPIPE;
			goto out;
		}
		p = &c->ports[wIndex - 1];
	}

	switch (typeReq) {
	case ClearHubFeature:
	case SetHubFeature:
		if (wValue != C_HUB_LOCAL_POWER && wValue != C_HUB_OVER_CURRENT)
			rc = -EPIPE;
		break;
	case GetHubDescriptor:
		if ((wValue >> 8) != USB_DT_HUB || wIndex != 0) {
			rc = -EPIPE;
			break;
		}
		hub_descriptor(c, (struct usb_hub_descriptor *)buf);
		break;
	case GetHubStatus:
		put_unaligned_le32(0, buf);
		break;
	case GetPortStatus:
		port_finish_timers(p);
		put_unaligned_le16(p->status & 0xffff, buf);
		put_unaligned_le16(p->status >> 16, buf + 2);
		break;
	case ClearPortFeature:
		switch (wValue) {
		case USB_PORT_FEAT_ENABLE:
			if (p->status & USB_PORT_STAT_ENABLE) {
				p->status &= ~(USB_PORT_STAT_ENABLE |
					       USB_PORT_STAT_SUSPEND);
				p->resuming = false;
				wake |= queue_port_event(c, wIndex,
						USBREDIR_VHCI_PORT_DISABLE);
			}
			break;
		case USB_PORT_FEAT_SUSPEND:
			if ((p->status & USB_PORT_STAT_SUSPEND) && !p->resuming) {
				p->resuming = true;
				p->done_at = jiffies +
					msecs_to_jiffies(RESUME_TIME_MS);
				wake |= queue_port_event(c, wIndex,
						USBREDIR_VHCI_PORT_RESUME);
			}
			break;
		case USB_PORT_FEAT_POWER:
			if (p->status & USB_PORT_STAT_POWER) {
				/* The device stays plugged in; it shows again
				 * once the hub powers the port back on. */
				p->status &= ~0xffff;
				p->resetting = false;
				p->resuming = false;
				wake |= queue_port_event(c, wIndex,
						USBREDIR_VHCI_PORT_POWER_OFF);
			}
			break;
		case USB_PORT_FEAT_C_CONNECTION:
		case USB_PORT_FEAT_C_ENABLE:
		case USB_PORT_FEAT_C_SUSPEND:
		case USB_PORT_FEAT_C_OVER_CURRENT:
		case USB_PORT_FEAT_C_RESET:
			p->status &= ~(1U << wValue);
			break;
		case USB_PORT_FEAT_INDICATOR:
			break;
		default:
			rc = -EPIPE;
		}
		break;
	case SetPortFeature:
		switch (wValue) {
		case USB_PORT_FEAT_POWER:
			if (!(p->status & USB_PORT_STAT_POWER)) {
				p->status |= USB_PORT_STAT_POWER;
				wake |= queue_port_event(c, wIndex,
						USBREDIR_VHCI_PORT_POWER_ON);
				port_show_connection(p);
			}
			break;
		case USB_PORT_FEAT_RESET:
			if (p->status & USB_PORT_STAT_CONNECTION) {
				p->status &= ~(USB_PORT_STAT_ENABLE |
					       USB_PORT_STAT_SUSPEND |
					       USB_PORT_STAT_LOW_SPEED |
					       USB_PORT_STAT_HIGH_SPEED);
				p->status |= USB_PORT_STAT_RESET;
				p->resetting = true;
				p->resuming = false;
				p->done_at = jiffies +
					msecs_to_jiffies(RESET_TIME_MS);
				wake |= queue_port_event(c, wIndex,
						USBREDIR_VHCI_PORT_RESET);
			}
			break;
		case USB_PORT_FEAT_SUSPEND:
			if ((p->status & USB_PORT_STAT_ENABLE) &&
			    !(p->status & USB_PORT_STAT_SUSPEND)) {
				p->status |= USB_PORT_STAT_SUSPEND;
				wake |= queue_port_event(c, wIndex,
						USBREDIR_VHCI_PORT_SUSPEND);
			}
			break;
		case USB_PORT_FEAT_INDICATOR:
		case USB_PORT_FEAT_TEST:
			break;
		default:
			rc = -EPIPE;
		}
		break;
	default:
		rc = -EPIPE;
	}
	if (p && (p->status >> 16))
		poll = true;
out:
	spin_unlock_irqrestore(&c->lock, flags);
	if (wake)
		wake_up_interruptible(&c->waitq);
	if (poll)
		usb_hcd_poll_rh_status(hcd);
	return rc;
}

static int vhci_bus_suspend(struct usb_hcd *hcd)
{
	struct vhci_ctrl *c = hcd_to_ctrl(hcd);

	spin_lock_irq(&c->lock);
	c->rh_suspended = true;
	hcd->state = HC_STATE_SUSPENDED;
	spin_unlock_irq(&c->lock);
	return 0;
}

static int vhci_bus_resume(struct usb_hcd *hcd)
{
	struct vhci_ctrl *c = hcd_to_ctrl(hcd);
	int rc = 0;

	spin_lock_irq(&c->lock);
	if (!HCD_HW_ACCESSIBLE(hcd)) {
		rc = -ESHUTDOWN;
	} else {
		c->rh_suspended = false;
		hcd->state = HC_STATE_RUNNING;
	}
	spin_unlock_irq(&c->lock);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* URBs */

/* The root-hub port a device hangs off, however deep behind hubs. */
static int root_port_of(struct usb_device *udev)
{
	while (udev->parent && udev->parent->parent)
		udev = udev->parent;
	return udev->portnum;
}

static int vhci_urb_enqueue(struct usb_hcd *hcd, struct urb *urb,
			    gfp_t mem_flags)
{
	struct vhci_ctrl *c = hcd_to_ctrl(hcd);
	int portnum = root_port_of(urb->dev);
	struct vhci_urbp *u;
	unsigned long flags;
	int rc;

	/* Never sleep here: enqueue may run in atomic context. */
	u = kzalloc(sizeof(*u), GFP_ATOMIC);
	if (!u)
		return -ENOMEM;

	spin_lock_irqsave(&c->lock, flags);
	if (!c->alive)
		rc = -ESHUTDOWN;
	else if (portnum < 1 || portnum > c->nports ||
		 !(c->ports[portnum - 1].status & USB_PORT_STAT_CONNECTION))
		rc = -ENODEV;
	else if (urb->transfer_buffer_length > max_transfer ||
		 (usb_pipeisoc(urb->pipe) &&
		  urb->number_of_packets > max_iso_packets))
		rc = -EMSGSIZE;
	else if (urb->num_sgs ||
		 (urb->transfer_buffer_length && !urb->transfer_buffer) ||
		 (usb_pipecontrol(urb->pipe) && !urb->setup_packet))
		rc = -EINVAL;
	else if (c->nurbs >= max_inflight)
		rc = -ENOSPC;
	else
		rc = usb_hcd_link_urb_to_ep(hcd, urb);
	if (rc) {
		spin_unlock_irqrestore(&c->lock, flags);
		kfree(u);
		return rc;
	}

	u->ev.kind = EV_SUBMIT;
	u->id = c->next_id++;
	u->urb = urb;
	u->port = portnum;
	u->state = URB_QUEUED;
	urb->hcpriv = u;
	hash_add(c->urbs, &u->hnode, u->id);
	list_add_tail(&u->ev.node, &c->events);
	c->nurbs++;
	spin_unlock_irqrestore(&c->lock, flags);

	wake_up_interruptible(&c->waitq);
	return 0;
}

static int vhci_urb_dequeue(struct usb_hcd *hcd, struct urb *urb, int status)
{
	struct vhci_ctrl *c = hcd_to_ctrl(hcd);
	struct urb *done = NULL;
	struct vhci_urbp *u;
	unsigned long flags;
	bool wake = false;
	int rc;

	spin_lock_irqsave(&c->lock, flags);
	rc = usb_hcd_check_unlink_urb(hcd, urb, status);
	if (rc)
		goto out;
	u = urb->hcpriv;
	if (u->busy) {
		/* read()/write() is copying its buffer; it finishes it. */
		u->unlink_pending = true;
		u->unlink_status = status;
	} else if (u->state == URB_QUEUED) {
		list_del(&u->ev.node);
		done = urbp_finish(c, u);
	} else {
		done = urbp_cancel_submitted(c, u, status);
		wake = true;
	}
out:
	spin_unlock_irqrestore(&c->lock, flags);
	if (wake)
		wake_up_interruptible(&c->waitq);
	if (done)
		vhci_giveback(hcd, done, status);
	return rc;
}

static int vhci_get_frame_number(struct usb_hcd *hcd)
{
	/* A frame counter that advances like a real bus (1 ms frames). */
	return jiffies_to_msecs(jiffies) & 0x7ff;
}

static int vhci_reset(struct usb_hcd *hcd)
{
	hcd->speed = HCD_USB2;
	hcd->self.root_hub->speed = USB_SPEED_HIGH;
	hcd->self.sg_tablesize = 0;	/* always a linear transfer_buffer */
	return 0;
}

static int vhci_start(struct usb_hcd *hcd)
{
	hcd->power_budget = 0;		/* no limit */
	hcd->uses_new_polling = 1;
	hcd->state = HC_STATE_RUNNING;
	return 0;
}

static void vhci_stop(struct usb_hcd *hcd)
{
}

static const struct hc_driver vhci_hc_driver = {
	.description	= DRIVER_NAME,
	.product_desc	= DRIVER_DESC,
	.hcd_priv_size	= sizeof(struct vhci_ctrl),
	/* HCD_BH: completions run in usbcore's tasklet, as on real HCDs. */
	.flags		= HCD_USB2 | HCD_BH,
	.reset		= vhci_reset,
	.start		= vhci_start,
	.stop		= vhci_stop,
	.urb_enqueue	= vhci_urb_enqueue,
	.urb_dequeue	= vhci_urb_dequeue,
	.get_frame_number = vhci_get_frame_number,
	.hub_status_data = vhci_hub_status_data,
	.hub_control	= vhci_hub_control,
	.bus_suspend	= vhci_bus_suspend,
	.bus_resume	= vhci_bus_resume,
};

/* ------------------------------------------------------------------------ */
/* Platform device: one per controller, created by the CREATE ioctl */

static const char *const speed_names[] = {
	[0] = "none", [USB_SPEED_LOW] = "low", [USB_SPEED_FULL] = "full",
	[USB_SPEED_HIGH] = "high",
};

static ssize_t abi_version_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", USBREDIR_VHCI_ABI_VERSION);
}
static DEVICE_ATTR_RO(abi_version);

static ssize_t nports_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vhci_ctrl *c = hcd_to_ctrl(dev_get_drvdata(dev));

	return sysfs_emit(buf, "%u\n", c->nports);
}
static DEVICE_ATTR_RO(nports);

static ssize_t inflight_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct vhci_ctrl *c = hcd_to_ctrl(dev_get_drvdata(dev));

	return sysfs_emit(buf, "%u\n", READ_ONCE(c->nurbs));
}
static DEVICE_ATTR_RO(inflight);

/* One line per port: "port speed connected enabled suspended status change". */
static ssize_t ports_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct vhci_ctrl *c = hcd_to_ctrl(dev_get_drvdata(dev));
	struct vhci_port snap[USBREDIR_VHCI_MAX_PORTS];
	int i, n, len;

	spin_lock_irq(&c->lock);
	n = c->nports;
	memcpy(snap, c->ports, sizeof(snap[0]) * n);
	spin_unlock_irq(&c->lock);

	len = sysfs_emit(buf, "port speed connected enabled suspended status change\n");
	for (i = 0; i < n; i++)
		len += sysfs_emit_at(buf, len, "%d %s %d %d %d 0x%04x 0x%04x\n",
			i + 1, speed_names[snap[i].speed],
			!!(snap[i].status & USB_PORT_STAT_CONNECTION),
			!!(snap[i].status & USB_PORT_STAT_ENABLE),
			!!(snap[i].status & USB_PORT_STAT_SUSPEND),
			snap[i].status & 0xffff, snap[i].status >> 16);
	return len;
}
static DEVICE_ATTR_RO(ports);

static struct attribute *vhci_ctrl_attrs[] = {
	&dev_attr_abi_version.attr,
	&dev_attr_nports.attr,
	&dev_attr_inflight.attr,
	&dev_attr_ports.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vhci_ctrl);

static int vhci_probe(struct platform_device *pdev)
{
	u8 nports = *(u8 *)dev_get_platdata(&pdev->dev);
	struct vhci_ctrl *c;
	struct usb_hcd *hcd;
	int rc;

	hcd = usb_create_hcd(&vhci_hc_driver, &pdev->dev, dev_name(&pdev->dev));
	if (!hcd)
		return -ENOMEM;
	c = hcd_to_ctrl(hcd);		/* zeroed by usb_create_hcd */
	spin_lock_init(&c->lock);
	mutex_init(&c->read_mutex);
	init_waitqueue_head(&c->waitq);
	INIT_LIST_HEAD(&c->events);
	hash_init(c->urbs);
	c->next_id = 1;
	c->nports = nports;
	c->alive = true;
	c->pdev = pdev;
	c->pdev_id = pdev->id;
	c->hcd = hcd;
	hcd->has_tt = 1;	/* full/low speed devices on our USB 2 root hub */
	platform_set_drvdata(pdev, hcd);

	rc = usb_add_hcd(hcd, 0, 0);
	if (rc) {
		platform_set_drvdata(pdev, NULL);
		usb_put_hcd(hcd);
	}
	return rc;
}

static int vhci_remove(struct platform_device *pdev)
{
	struct usb_hcd *hcd = platform_get_drvdata(pdev);

	usb_remove_hcd(hcd);
	usb_put_hcd(hcd);
	return 0;
}

static struct platform_driver vhci_driver = {
	.probe	= vhci_probe,
	.remove	= vhci_remove,
	.driver	= {
		.name = DRIVER_NAME,
		.dev_groups = vhci_ctrl_groups,
		/* The controller belongs to its file; no manual unbind. */
		.suppress_bind_attrs = true,
	},
};

/* ------------------------------------------------------------------------ */
/* /dev/vhci-ctrl */

static int ctrl_open(struct inode *inode, struct file *file)
{
	struct vhci_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->create_mutex);
	file->private_data = f;
	return stream_open(inode, file);
}

static void ctrl_destroy(struct vhci_ctrl *c)
{
	struct vhci_event *ev, *tmp;
	struct vhci_urbp *u;
	struct hlist_node *hn;
	LIST_HEAD(giveback);
	struct urb *urb, *utmp;
	int i;

	/* Refuse new URBs, unplug every port, take back every URB. */
	spin_lock_irq(&c->lock);
	c->alive = false;
	for (i = 0; i < c->nports; i++)
		port_unplug(&c->ports[i]);
	hash_for_each_safe(c->urbs, i, hn, u, hnode) {
		urb = urbp_detach(c, u);
		list_add_tail(&urb->urb_list, &giveback);
		if (u->state != URB_QUEUED) {
			c->nurbs--;
			kfree(u);
		}
	}
	list_for_each_entry_safe(ev, tmp, &c->events, node) {
		list_del(&ev->node);
		if (ev->kind == EV_PORT)
			c->nport_events--;
		else
			c->nurbs--;
		kfree(ev);
	}
	spin_unlock_irq(&c->lock);

	list_for_each_entry_safe(urb, utmp, &giveback, urb_list) {
		list_del_init(&urb->urb_list);
		vhci_giveback(c->hcd, urb, -ESHUTDOWN);
	}

	/* Removes the HCD: usbcore disconnects the devices and root hub. */
	platform_device_unregister(c->pdev);
	ida_free(&vhci_ida, c->pdev_id);
	WARN_ON(c->nurbs || c->nport_events);
}

static int ctrl_release(struct inode *inode, struct file *file)
{
	struct vhci_file *f = file->private_data;

	if (f->c) {
		struct usb_hcd *hcd = f->c->hcd;

		ctrl_destroy(f->c);
		usb_put_hcd(hcd);	/* frees the controller state */
	}
	kfree(f);
	return 0;
}

static long ctrl_create(struct vhci_file *f,
			struct usbredir_vhci_create __user *arg)
{
	struct usbredir_vhci_create req;
	struct platform_device *pdev;
	struct usb_hcd *hcd;
	struct vhci_ctrl *c;
	u8 nports;
	u32 ports;
	int rc, id;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (le32_to_cpu(req.abi_version) != USBREDIR_VHCI_ABI_VERSION)
		return -EPROTONOSUPPORT;
	ports = le32_to_cpu(req.ports);
	if (ports < 1 || ports > USBREDIR_VHCI_MAX_PORTS || req.flags ||
	    req.busnum || req.max_transfer || req.max_iso_packets ||
	    req.max_inflight || req.reserved0 || memchr_inv(req.bus_id, 0,
	    sizeof(req.bus_id)) || memchr_inv(req.reserved, 0,
	    sizeof(req.reserved)))
		return -EINVAL;
	nports = ports;

	mutex_lock(&f->create_mutex);
	if (f->c) {
		rc = -EBUSY;
		goto unlock;
	}
	id = ida_alloc(&vhci_ida, GFP_KERNEL);
	if (id < 0) {
		rc = id;
		goto unlock;
	}
	pdev = platform_device_alloc(DRIVER_NAME, id);
	rc = -ENOMEM;
	if (!pdev)
		goto free_id;
	rc = platform_device_add_data(pdev, &nports, sizeof(nports));
	if (rc)
		goto put_pdev;
	rc = platform_device_add(pdev);	/* probes synchronously */
	if (rc)
		goto put_pdev;
	hcd = platform_get_drvdata(pdev);
	if (!hcd) {			/* probe failed */
		platform_device_unregister(pdev);
		rc = -ENODEV;
		goto free_id;
	}
	usb_get_hcd(hcd);		/* the file's reference */
	c = hcd_to_ctrl(hcd);

	req.busnum = cpu_to_le32(hcd->self.busnum);
	req.max_transfer = cpu_to_le32(max_transfer);
	req.max_iso_packets = cpu_to_le32(max_iso_packets);
	req.max_inflight = cpu_to_le32(max_inflight);
	strscpy(req.bus_id, dev_name(&pdev->dev), sizeof(req.bus_id));
	if (copy_to_user(arg, &req, sizeof(req))) {
		/* Leave nothing behind when the caller cannot learn of it. */
		ctrl_destroy(c);
		usb_put_hcd(hcd);
		rc = -EFAULT;
		goto unlock;
	}
	smp_store_release(&f->c, c);
	rc = 0;
	goto unlock;

put_pdev:
	platform_device_put(pdev);
free_id:
	ida_free(&vhci_ida, id);
unlock:
	mutex_unlock(&f->create_mutex);
	return rc;
}

static long ctrl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vhci_file *f = file->private_data;

	switch (cmd) {
	case USBREDIR_VHCI_IOC_CREATE:
		return ctrl_create(f, (void __user *)arg);
	case USBREDIR_VHCI_IOC_ABI_VERSION:
		return USBREDIR_VHCI_ABI_VERSION;
	default:
		return -ENOTTY;
	}
}

/* The file's controller, or NULL before CREATE. */
static struct vhci_ctrl *file_ctrl(struct file *file)
{
	struct vhci_file *f = file->private_data;

	/* Pairs with the store-release in ctrl_create(). */
	return smp_load_acquire(&f->c);
}

static size_t submit_size(struct urb *urb)
{
	size_t n = sizeof(struct usbredir_vhci_event_submit);

	if (usb_pipeisoc(urb->pipe))
		n += urb->number_of_packets *
			sizeof(struct usbredir_vhci_iso_packet);
	if (!usb_urb_dir_in(urb))
		n += urb->transfer_buffer_length;
	return ALIGN(n, 8);
}

static size_t event_size(struct vhci_event *ev)
{
	switch (ev->kind) {
	case EV_SUBMIT:
		return submit_size(container_of(ev, struct vhci_urbp, ev)->urb);
	case EV_UNLINK:
		return sizeof(struct usbredir_vhci_event_unlink);
	default:
		return sizeof(struct usbredir_vhci_event_port);
	}
}

/* Copies a SUBMIT of a busy URB out; the URB cannot go away meanwhile. */
static int copy_submit(struct vhci_urbp *u, char __user *dst, size_t size)
{
	struct urb *urb = u->urb;
	struct usbredir_vhci_event_submit ev = {};
	bool in = usb_urb_dir_in(urb);
	bool iso = usb_pipeisoc(urb->pipe);
	u32 data_len = in ? 0 : urb->transfer_buffer_length;
	size_t off = sizeof(ev);
	int i;

	ev.hdr.type = cpu_to_le16(USBREDIR_VHCI_EV_SUBMIT);
	ev.hdr.port = cpu_to_le16(u->port);
	ev.hdr.length = cpu_to_le32(size);
	ev.hdr.id = cpu_to_le64(u->id);
	ev.address = usb_pipedevice(urb->pipe);
	ev.endpoint = usb_pipeendpoint(urb->pipe) | (in ? USB_DIR_IN : 0);
	ev.xfer_type = usb_pipetype(urb->pipe);
	ev.flags = cpu_to_le32(urb->transfer_flags &
			       (URB_SHORT_NOT_OK | URB_ISO_ASAP | URB_ZERO_PACKET));
	if (usb_pipecontrol(urb->pipe))
		memcpy(ev.setup, urb->setup_packet, sizeof(ev.setup));
	ev.transfer_length = cpu_to_le32(urb->transfer_buffer_length);
	ev.interval = cpu_to_le32(urb->interval);
	if (iso) {
		ev.iso_packets = cpu_to_le32(urb->number_of_packets);
		ev.start_frame = cpu_to_le32(urb->start_frame);
	}
	ev.data_length = cpu_to_le32(data_len);
	if (copy_to_user(dst, &ev, sizeof(ev)))
		return -EFAULT;

	for (i = 0; iso && i < urb->number_of_packets; i++) {
		struct usbredir_vhci_iso_packet pk = {
			.offset = cpu_to_le32(urb->iso_frame_desc[i].offset),
			.length = cpu_to_le32(urb->iso_frame_desc[i].length),
		};

		if (copy_to_user(dst + off, &pk, sizeof(pk)))
			return -EFAULT;
		off += sizeof(pk);
	}
	if (data_len && copy_to_user(dst + off, urb->transfer_buffer, data_len))
		return -EFAULT;
	off += data_len;
	if (size > off && clear_user(dst + off, size - off))
		return -EFAULT;
	return 0;
}

static int copy_unlink(struct vhci_urbp *u, char __user *dst)
{
	struct usbredir_vhci_event_unlink out = {
		.hdr.type = cpu_to_le16(USBREDIR_VHCI_EV_UNLINK),
		.hdr.port = cpu_to_le16(u->port),
		.hdr.length = cpu_to_le32(sizeof(out)),
		.hdr.id = cpu_to_le64(u->id),
		.status = cpu_to_le32(u->unlink_status),
	};

	return copy_to_user(dst, &out, sizeof(out)) ? -EFAULT : 0;
}

static int copy_port_event(struct vhci_port_event *pe, char __user *dst)
{
	struct usbredir_vhci_event_port out = {
		.hdr.type = cpu_to_le16(USBREDIR_VHCI_EV_PORT),
		.hdr.port = cpu_to_le16(pe->port),
		.hdr.length = cpu_to_le32(sizeof(out)),
		.event = cpu_to_le16(pe->event),
		.status = cpu_to_le16(pe->status),
		.change = cpu_to_le16(pe->change),
	};

	return copy_to_user(dst, &out, sizeof(out)) ? -EFAULT : 0;
}

/* Copies an event taken off the queue out (@size from event_size()). */
static int copy_event(struct vhci_event *ev, char __user *dst, size_t size)
{
	switch (ev->kind) {
	case EV_SUBMIT:
		return copy_submit(container_of(ev, struct vhci_urbp, ev),
				   dst, size);
	case EV_UNLINK:
		return copy_unlink(container_of(ev, struct vhci_urbp, ev), dst);
	default:
		return copy_port_event(container_of(ev, struct vhci_port_event,
						    ev), dst);
	}
}

/*
 * Hands out the head event. Returns its size, 0 if the queue is empty,
 * -EMSGSIZE if it does not fit in @room, -EFAULT (the event stays queued).
 *
 * Every kind takes the same path: taken off the queue under the lock,
 * copied without it (a SUBMIT's URB pinned by its busy mark; notices are
 * owned by the reader once off the queue), then under the lock again either
 * put back at the head (the copy failed) or accounted as handed out.
 */
static ssize_t read_one(struct vhci_ctrl *c, char __user *dst, size_t room)
{
	struct vhci_event *ev;
	struct vhci_urbp *u = NULL;
	struct urb *done = NULL;
	bool free_ev = false;
	size_t size;
	int rc;

	spin_lock_irq(&c->lock);
	if (list_empty(&c->events)) {
		spin_unlock_irq(&c->lock);
		return 0;
	}
	ev = list_first_entry(&c->events, struct vhci_event, node);
	size = event_size(ev);
	if (size > room) {
		spin_unlock_irq(&c->lock);
		return -EMSGSIZE;
	}
	list_del(&ev->node);
	if (ev->kind == EV_SUBMIT) {
		u = container_of(ev, struct vhci_urbp, ev);
		u->busy = true;
	}
	spin_unlock_irq(&c->lock);

	rc = copy_event(ev, dst, size);

	spin_lock_irq(&c->lock);
	if (u)
		u->busy = false;
	if (u && u->unlink_pending) {
		/* Dequeued while copying: the cancel wins. */
		done = rc ? urbp_finish(c, u) :
			urbp_cancel_submitted(c, u, u->unlink_status);
	} else if (rc) {
		list_add(&ev->node, &c->events);
	} else if (u) {
		u->state = URB_SUBMITTED;
	} else {
		if (ev->kind == EV_PORT)
			c->nport_events--;
		else
			c->nurbs--;
		free_ev = true;
	}
	spin_unlock_irq(&c->lock);
	if (free_ev)
		kfree(ev);	/* the first member of its urbp or port event */
	if (done) {
		wake_up_interruptible(&c->waitq);
		/* usb_hcd_check_unlink_urb() stored the unlink status. */
		vhci_giveback(c->hcd, done, done->unlinked);
	}
	return rc ? rc : size;
}

static ssize_t ctrl_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct vhci_ctrl *c = file_ctrl(file);
	size_t copied = 0;
	ssize_t n;

	if (!c)
		return -EBADFD;
	if (mutex_lock_interruptible(&c->read_mutex))
		return -ERESTARTSYS;
	for (;;) {
		n = read_one(c, buf + copied, count - copied);
		if (n > 0) {
			copied += n;
			continue;
		}
		if (copied)
			break;
		if (n < 0)
			break;
		/* Empty queue, nothing copied yet. */
		if (file->f_flags & O_NONBLOCK) {
			n = -EAGAIN;
			break;
		}
		n = wait_event_interruptible(c->waitq,
					     !list_empty_careful(&c->events));
		if (n)
			break;
	}
	mutex_unlock(&c->read_mutex);
	return copied ? copied : n;
}

static bool status_ok(s32 status)
{
	switch (status) {
	case 0: case -EPIPE: case -EPROTO: case -EILSEQ: case -ETIME:
	case -ETIMEDOUT: case -EOVERFLOW: case -EREMOTEIO: case -ECOMM:
	case -ENOSR: case -EXDEV: case -ENODEV: case -ESHUTDOWN: case -EINVAL:
		return true;
	default:
		return false;
	}
}

/* Checks a completion against its URB. Called with the lock held. */
static bool complete_fits(struct urb *urb,
			  const struct usbredir_vhci_cmd_complete *cmd,
			  const struct usbredir_vhci_iso_result *res)
{
	u32 actual = le32_to_cpu(cmd->actual_length);
	u32 npk = le32_to_cpu(cmd->iso_packets);
	u32 data = le32_to_cpu(cmd->data_length);
	bool in = usb_urb_dir_in(urb);
	u32 i;

	if (!status_ok(le32_to_cpu(cmd->status)) ||
	    actual > urb->transfer_buffer_length ||
	    data > urb->transfer_buffer_length || (!in && data))
		return false;
	if (!usb_pipeisoc(urb->pipe))
		return npk == 0 && cmd->error_count == 0 &&
			cmd->start_frame == 0 && (!in || data == actual);
	if (npk != urb->number_of_packets || le32_to_cpu(cmd->error_count) > npk)
		return false;
	for (i = 0; i < npk; i++)
		if (le32_to_cpu(res[i].actual_length) >
			urb->iso_frame_desc[i].length ||
		    !status_ok(le32_to_cpu(res[i].status)))
			return false;
	return true;
}

static ssize_t cmd_complete(struct vhci_ctrl *c, const char __user *ubuf,
			    size_t count)
{
	struct usbredir_vhci_cmd_complete cmd;
	struct usbredir_vhci_iso_result *res = NULL;
	struct vhci_urbp *u;
	struct urb *urb, *done = NULL;
	int done_status = 0;
	bool unlinked = false;
	u64 id;
	u32 npk, data, i;
	ssize_t rc;

	if (count < sizeof(cmd) || copy_from_user(&cmd, ubuf, sizeof(cmd)))
		return count < sizeof(cmd) ? -EINVAL : -EFAULT;
	npk = le32_to_cpu(cmd.iso_packets);
	data = le32_to_cpu(cmd.data_length);
	if (cmd.hdr.port || cmd.reserved[0] || cmd.reserved[1] ||
	    npk > max_iso_packets || data > max_transfer ||
	    count != sizeof(cmd) + (size_t)npk * sizeof(*res) + data)
		return -EINVAL;
	if (npk) {
		res = kmalloc_array(npk, sizeof(*res), GFP_KERNEL);
		if (!res)
			return -ENOMEM;
		if (copy_from_user(res, ubuf + sizeof(cmd), npk * sizeof(*res))) {
			rc = -EFAULT;
			goto out;
		}
	}
	id = le64_to_cpu(cmd.hdr.id);

	spin_lock_irq(&c->lock);
	u = find_urbp(c, id);
	if (!u) {
		/* Finished or unlinked earlier: ignore. Never issued: bad. */
		rc = (id && id < c->next_id) ? count : -EINVAL;
		spin_unlock_irq(&c->lock);
		goto out;
	}
	urb = u->urb;
	if (u->state != URB_SUBMITTED || u->busy || !complete_fits(urb, &cmd, res)) {
		spin_unlock_irq(&c->lock);
		rc = -EINVAL;
		goto out;
	}
	u->busy = true;
	spin_unlock_irq(&c->lock);

	rc = count;
	if (data && copy_from_user(urb->transfer_buffer,
				   ubuf + sizeof(cmd) + npk * sizeof(*res), data))
		rc = -EFAULT;

	spin_lock_irq(&c->lock);
	u->busy = false;
	if (u->unlink_pending) {
		/* Cancelled meanwhile: the cancel wins, the answer is ignored. */
		done = urbp_cancel_submitted(c, u, u->unlink_status);
		done_status = u->unlink_status;
		unlinked = true;
	} else if (rc == count) {
		urb->actual_length = le32_to_cpu(cmd.actual_length);
		if (usb_pipeisoc(urb->pipe)) {
			urb->error_count = le32_to_cpu(cmd.error_count);
			urb->start_frame = le32_to_cpu(cmd.start_frame);
			for (i = 0; i < npk; i++) {
				urb->iso_frame_desc[i].actual_length =
					le32_to_cpu(res[i].actual_length);
				urb->iso_frame_desc[i].status =
					(s32)le32_to_cpu(res[i].status);
			}
		}
		done = urbp_finish(c, u);
		done_status = (s32)le32_to_cpu(cmd.status);
	}
	spin_unlock_irq(&c->lock);
	if (unlinked)
		wake_up_interruptible(&c->waitq);
	if (done)
		vhci_giveback(c->hcd, done, done_status);
out:
	kfree(res);
	return rc;
}

/* The port a CONNECT or DISCONNECT names, NULL if its header is bad. */
static struct vhci_port *cmd_port(struct vhci_ctrl *c,
				  const struct usbredir_vhci_hdr *hdr)
{
	u16 portnum = le16_to_cpu(hdr->port);

	if (hdr->id || portnum < 1 || portnum > c->nports)
		return NULL;
	return &c->ports[portnum - 1];
}

static ssize_t cmd_connect(struct vhci_ctrl *c, const char __user *ubuf,
			   size_t count)
{
	struct usbredir_vhci_cmd_connect cmd;
	struct vhci_port *p;
	ssize_t rc = count;
	bool poll;
	u32 speed;

	if (count != sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(&cmd, ubuf, sizeof(cmd)))
		return -EFAULT;
	p = cmd_port(c, &cmd.hdr);
	speed = le32_to_cpu(cmd.speed);
	if (!p || cmd.reserved || (speed != USB_SPEED_LOW &&
	    speed != USB_SPEED_FULL && speed != USB_SPEED_HIGH))
		return -EINVAL;

	spin_lock_irq(&c->lock);
	if (p->speed) {
		rc = -EBUSY;
	} else {
		p->speed = speed;
		port_show_connection(p);
	}
	poll = rc == count && (p->status >> 16);
	spin_unlock_irq(&c->lock);
	if (poll)
		usb_hcd_poll_rh_status(c->hcd);
	return rc;
}

static ssize_t cmd_disconnect(struct vhci_ctrl *c, const char __user *ubuf,
			      size_t count)
{
	struct usbredir_vhci_cmd_disconnect cmd;
	struct vhci_port *p;
	ssize_t rc = count;
	bool poll;

	if (count != sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(&cmd, ubuf, sizeof(cmd)))
		return -EFAULT;
	p = cmd_port(c, &cmd.hdr);
	if (!p || cmd.reserved[0] || cmd.reserved[1])
		return -EINVAL;

	spin_lock_irq(&c->lock);
	if (!p->speed)
		rc = -ENOTCONN;
	else
		port_unplug(p);
	poll = rc == count && (p->status >> 16);
	spin_unlock_irq(&c->lock);
	if (poll)
		usb_hcd_poll_rh_status(c->hcd);
	return rc;
}

static ssize_t ctrl_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct vhci_ctrl *c = file_ctrl(file);
	struct usbredir_vhci_hdr hdr;

	if (!c)
		return -EBADFD;
	if (count < sizeof(hdr))
		return -EINVAL;
	if (copy_from_user(&hdr, buf, sizeof(hdr)))
		return -EFAULT;
	if (le32_to_cpu(hdr.length) != count)
		return -EINVAL;
	switch (le16_to_cpu(hdr.type)) {
	case USBREDIR_VHCI_CMD_COMPLETE:
		return cmd_complete(c, buf, count);
	case USBREDIR_VHCI_CMD_CONNECT:
		return cmd_connect(c, buf, count);
	case USBREDIR_VHCI_CMD_DISCONNECT:
		return cmd_disconnect(c, buf, count);
	default:
		return -EINVAL;
	}
}

static __poll_t ctrl_poll(struct file *file, poll_table *wait)
{
	struct vhci_ctrl *c = file_ctrl(file);
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	if (!c)
		return mask;
	poll_wait(file, &c->waitq, wait);
	if (!list_empty_careful(&c->events))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static const struct file_operations ctrl_fops = {
	.owner		= THIS_MODULE,
	.open		= ctrl_open,
	.release	= ctrl_release,
	.read		= ctrl_read,
	.write		= ctrl_write,
	.poll		= ctrl_poll,
	.unlocked_ioctl	= ctrl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static struct attribute *misc_attrs[] = {
	&dev_attr_abi_version.attr,
	NULL,
};
ATTRIBUTE_GROUPS(misc);

static struct miscdevice ctrl_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vhci-ctrl",
	.fops	= &ctrl_fops,
	.groups	= misc_groups,
};

/* The uapi structs' sizes are ABI: a change must fail the build. */
static void __init check_abi_sizes(void)
{
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_create) != 96);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_hdr) != 16);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_event_submit) != 64);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_iso_packet) != 8);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_event_unlink) != 24);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_event_port) != 24);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_cmd_complete) != 48);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_iso_result) != 8);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_cmd_connect) != 24);
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_cmd_disconnect) != 24);
	/* read_one() and event_size() size every event kind by its struct. */
	BUILD_BUG_ON(sizeof(struct usbredir_vhci_event_submit) % 8 ||
		     sizeof(struct usbredir_vhci_event_unlink) % 8 ||
		     sizeof(struct usbredir_vhci_event_port) % 8);
}

static int __init vhci_init(void)
{
	int rc;

	check_abi_sizes();
	if (usb_disabled())
		return -ENODEV;
	if (!max_inflight || !max_transfer || max_transfer > (64 << 20) ||
	    max_iso_packets > 4096)
		return -EINVAL;
	rc = platform_driver_register(&vhci_driver);
	if (rc)
		return rc;
	rc = misc_register(&ctrl_misc);
	if (rc)
		platform_driver_unregister(&vhci_driver);
	return rc;
}

static void __exit vhci_exit(void)
{
	misc_deregister(&ctrl_misc);
	platform_driver_unregister(&vhci_driver);
	ida_destroy(&vhci_ida);
}

module_init(vhci_init);
module_exit(vhci_exit);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_AUTHOR("UsbRedir contributors");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
