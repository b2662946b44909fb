import type { NotificationDelivery, NotificationService, NotificationSpec, NotificationView } from '../notifications/index.js';
import { CapstanError } from '../core/errors.js';
import type { HttpClient } from './http-client.js';

const enc = encodeURIComponent;

/** Notification subscriptions over HTTP (read side; they are written with `capstan apply`). */
export class NotificationsClient implements NotificationService {
  constructor(private readonly http: HttpClient) {}

  private applyOnly(): never {
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'notifications are created and changed with capstan apply (kind: Notification)');
  }

  async checkTarget(_spec: NotificationSpec): Promise<void> {
    this.applyOnly();
  }

  async apply(_spec: NotificationSpec): Promise<void> {
    this.applyOnly();
  }

  async secretDigestOf(_spec: NotificationSpec): Promise<string> {
    return this.applyOnly();
  }

  get(name: string): Promise<NotificationView> {
    return this.http.request('GET', `/api/v1/notifications/${enc(name)}`);
  }

  async list(): Promise<NotificationView[]> {
    return (await this.http.request<{ notifications: NotificationView[] }>('GET', '/api/v1/notifications')).notifications;
  }

  async delete(name: string): Promise<void> {
    await this.http.request('DELETE', `/api/v1/resources/Notification/${enc(name)}`);
  }

  async log(name: string, limit?: number): Promise<NotificationDelivery[]> {
    return (await this.http.request<{ deliveries: NotificationDelivery[] }>('GET', `/api/v1/notifications/${enc(name)}/log`, { query: { limit } })).deliveries;
  }
}
